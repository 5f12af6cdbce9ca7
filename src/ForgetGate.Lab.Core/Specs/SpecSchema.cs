using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>Every field an experiment spec may hold, with defaults and allowed values (README's spec reference is generated from it).</summary>
public static class SpecSchema
{
    private static readonly string[] s_image = ["permuted", "rotated", "split"];

    /// <summary>The fields, in documentation order.</summary>
    public static IReadOnlyList<SpecField> Fields { get; } =
    [
        new("name", SpecFieldType.Text, null, "Experiment name; sweeps and report folders (results/<name>) are named after it: a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters.") { Required = true, Sweepable = false },
        new("description", SpecFieldType.Text, "", "Free text shown in the report.") { Sweepable = false },
        new("seed", SpecFieldType.Whole, 0L, "Seeds every random stream of the run (init, data order, strategy).") { Min = 0, Max = 9007199254740991 },
        new("max_attempts", SpecFieldType.Whole, 3L, "Queue: attempts before a crashing run is marked failed.") { Min = 1, Max = 100, Sweepable = false },
        new("priority", SpecFieldType.Whole, 0L, "Queue: higher runs first.") { Min = -1000, Max = 1000, Sweepable = false },

        new("scenario.kind", SpecFieldType.Choice, "permuted", "Task sequence.") { Choices = ["permuted", "rotated", "split", "drift"] },
        new("scenario.dataset", SpecFieldType.Choice, "fashion-mnist", "Image dataset (IDX files).") { Choices = ["fashion-mnist", "mnist", "kmnist"], WhenPath = "scenario.kind", WhenValues = s_image },
        new("scenario.tasks", SpecFieldType.Whole, 5L, "Number of tasks T.") { Min = 1, Max = 100 },
        new("scenario.train_per_task", SpecFieldType.Whole, 10000L, "Training samples per task (stratified subset).") { Min = 1, Max = 1_000_000 },
        new("scenario.test_per_task", SpecFieldType.Whole, 2000L, "Test samples per task (stratified subset).") { Min = 1, Max = 1_000_000 },
        new("scenario.validation_fraction", SpecFieldType.Real, 0.0, "Share of the training subset held out for validation.") { Min = 0, Max = 0.5 },
        new("scenario.normalize", SpecFieldType.Boolean, false, "Standardise pixels with the dataset's mean and std (else scale to [0, 1]).") { WhenPath = "scenario.kind", WhenValues = s_image },
        new("scenario.sequence", SpecFieldType.Choice, "rows", "How an image becomes a sequence: rows = one step per image row (T = 28 steps of D = 28 pixels); pixels = one step per pixel (T = 784 steps of D = 1, sequential pixel-MNIST), read row by row, left to right: step t is pixel (t div 28, t mod 28) of the task's image, after the task's transform, so permuted reads pixel π(t) (the classic permuted pixel-MNIST), rotated the rotated image, split the image itself. Left out of a config at its default, so runs stored before the field existed keep their hash.") { Choices = ["rows", "pixels"], WhenPath = "scenario.kind", WhenValues = s_image, OmittedAtDefault = true, NotApplicableReason = "a drift scenario is already a series of single values (its steps are scenario.window), so it has no image rows or pixels to read" },
        new("scenario.identity_first", SpecFieldType.Boolean, true, "permuted: task 1 sees unpermuted images.") { WhenPath = "scenario.kind", WhenValues = ["permuted"] },
        new("scenario.max_angle", SpecFieldType.Real, 180.0, "rotated: task k rotates by k·max_angle/(T−1) degrees.") { Min = 0, Max = 360, WhenPath = "scenario.kind", WhenValues = ["rotated"] },
        new("scenario.classes_per_task", SpecFieldType.Whole, 2L, "split: classes per task.") { Min = 1, Max = 10, WhenPath = "scenario.kind", WhenValues = ["split"] },
        new("scenario.head", SpecFieldType.Choice, "multi", "split: single (class-incremental) or multi (task-incremental, task id given).") { Choices = ["single", "multi"], WhenPath = "scenario.kind", WhenValues = ["split"] },
        new("scenario.drift", SpecFieldType.Choice, "abrupt", "drift: how regimes change between tasks.") { Choices = ["abrupt", "gradual", "recurring"], WhenPath = "scenario.kind", WhenValues = ["drift"] },
        new("scenario.family", SpecFieldType.Choice, "sinusoid", "drift: regime generator.") { Choices = ["sinusoid", "ar"], WhenPath = "scenario.kind", WhenValues = ["drift"] },
        new("scenario.window", SpecFieldType.Whole, 32L, "drift: input window length L (time steps).") { Min = 1, Max = 4096, WhenPath = "scenario.kind", WhenValues = ["drift"] },
        new("scenario.horizon", SpecFieldType.Whole, 1L, "drift: values predicted after the window.") { Min = 1, Max = 256, WhenPath = "scenario.kind", WhenValues = ["drift"] },
        new("scenario.noise", SpecFieldType.Real, 0.05, "drift: std of the observation noise.") { Min = 0, Max = 10, WhenPath = "scenario.kind", WhenValues = ["drift"] },

        new("model.variant", SpecFieldType.Choice, "lstm", "Recurrent cell: a built-in (equations and init rules: docs/variants.md) or a cell file, defined under the spec's top-level cells: map or in experiments/cells/<name>.yaml (README: write your own gate). A cell file has name, description, gates [blocks of W_ih x + b_ih + W_hh h + b_hh, in order], input_only [blocks without W_hh], states [carried besides h, start at 0], params {per-unit vector: init}, init {block: bias init}, step (one line per value, h' and every state' exactly once; + - * / and sigmoid tanh exp log logsigmoid softplus relu abs sqrt max min where(a >= b, x, y)), forget (the effective forget gate for telemetry). Inits: default, constant(v), uniform(a, b), linspace(a, b), chrono, ugi.") { Choices = Variants.All.Select(v => v.Name()).ToArray() },
        new("model.cell", SpecFieldType.Text, null, "The cell file's whole definition as JSON, filled in from model.variant when it names a cell (so the config hash covers the equations); never written in a spec."),
        new("model.init", SpecFieldType.Choice, "rnn", "Base init of every variant and cell file, before its bias rule (docs/variants.md): rnn = PyTorch's nn.LSTM/nn.GRU init, U(−1/√H, 1/√H) on every weight and both biases; linear = a hand-written cell of nn.Linear layers: weight_ih and bias_ih U(−1/√D, 1/√D) (D the layer's input width: 28 for an image row, H above layer 1), weight_hh U(−1/√H, 1/√H), bias_hh 0 (one bias), head unchanged. Left out of a config at its default, so runs stored before the field existed keep their hash.") { Choices = ParameterInitKinds.Names.ToArray(), OmittedAtDefault = true },
        new("model.hidden", SpecFieldType.Whole, 128L, "Hidden units H per layer.") { Min = 1, Max = 4096 },
        new("model.layers", SpecFieldType.Whole, 1L, "Stacked recurrent layers.") { Min = 1, Max = 8 },
        new("model.engine", SpecFieldType.Choice, "managed", "Engine that computes the model (README: Engines): managed (ours), torch (libtorch through TorchSharp) or gpu (ILGPU: a CUDA GPU, else its CPU accelerator).") { Choices = ModelEngines.KnownNames.ToArray() },

        new("training.epochs_per_task", SpecFieldType.Whole, 1L, "Epochs over each task's training data.") { Min = 1, Max = 1000 },
        new("training.batch_size", SpecFieldType.Whole, 128L, "Samples per optimizer step.") { Min = 1, Max = 65536 },
        new("training.optimizer.kind", SpecFieldType.Choice, "adam", "Optimizer (PyTorch semantics).") { Choices = ["adam", "sgd"] },
        new("training.optimizer.lr", SpecFieldType.Real, 1e-3, "Learning rate.") { Min = 0, Max = 10, MinExclusive = true },
        new("training.optimizer.beta1", SpecFieldType.Real, 0.9, "adam: first-moment decay.") { Min = 0, Max = 1, MaxExclusive = true, WhenPath = "training.optimizer.kind", WhenValues = ["adam"] },
        new("training.optimizer.beta2", SpecFieldType.Real, 0.999, "adam: second-moment decay.") { Min = 0, Max = 1, MaxExclusive = true, WhenPath = "training.optimizer.kind", WhenValues = ["adam"] },
        new("training.optimizer.eps", SpecFieldType.Real, 1e-8, "adam: added to √v̂.") { Min = 0, Max = 1, MinExclusive = true, WhenPath = "training.optimizer.kind", WhenValues = ["adam"] },
        new("training.optimizer.weight_decay", SpecFieldType.Real, 0.0, "L2 penalty added to the gradient.") { Min = 0, Max = 1 },
        new("training.optimizer.momentum", SpecFieldType.Real, 0.0, "sgd: momentum.") { Min = 0, Max = 1, MaxExclusive = true, WhenPath = "training.optimizer.kind", WhenValues = ["sgd"] },
        new("training.optimizer.nesterov", SpecFieldType.Boolean, false, "sgd: Nesterov momentum.") { WhenPath = "training.optimizer.kind", WhenValues = ["sgd"] },
        new("training.clip_norm", SpecFieldType.Real, 0.0, "Global gradient-norm clip; 0 turns it off.") { Min = 0, Max = 1e6 },
        new("training.eval_every_epoch", SpecFieldType.Boolean, true, "Evaluate every task after every epoch (else after each task only).") { },
        new("training.checkpoint_every_batches", SpecFieldType.Whole, 0L, "Checkpoint every N batches as well as after each task; 0: after tasks only.") { Min = 0, Max = 1_000_000 },

        new("strategy.kind", SpecFieldType.Choice, "naive", "Continual-learning strategy (what each does: docs/strategies.md).") { Choices = ["naive", "cumulative", "replay", "ewc", "lwf", "si", "mas", "agem", "gem", "derpp"] },
        new("strategy.buffer_size", SpecFieldType.Whole, 500L, "replay, derpp: reservoir capacity K (samples); derpp's 500 is Mammoth's models/config/derpp.yaml.") { Min = 1, Max = 10_000_000, WhenPath = "strategy.kind", WhenValues = ["replay", "derpp"] },
        new("strategy.replay_fraction", SpecFieldType.Real, 0.5, "replay: share of each batch drawn from the buffer.") { Min = 0, Max = 1, MinExclusive = true, MaxExclusive = true, WhenPath = "strategy.kind", WhenValues = ["replay"] },
        new("strategy.lambda", SpecFieldType.Real, 100.0, "ewc: penalty strength λ.") { Min = 0, Max = 1e12, WhenPath = "strategy.kind", WhenValues = ["ewc"] },
        new("strategy.gamma", SpecFieldType.Real, 1.0, "ewc: decay of the accumulated Fisher (online EWC).") { Min = 0, Max = 1, WhenPath = "strategy.kind", WhenValues = ["ewc"] },
        new("strategy.fisher_samples", SpecFieldType.Whole, 200L, "ewc: samples for the diagonal Fisher.") { Min = 1, Max = 1_000_000, WhenPath = "strategy.kind", WhenValues = ["ewc"] },
        new("strategy.lwf_alpha", SpecFieldType.Real, 1.0, "lwf: distillation weight α (Li & Hoiem 2017's λ_o = 1).") { Min = 0, Max = 1e6, WhenPath = "strategy.kind", WhenValues = ["lwf"] },
        new("strategy.lwf_temperature", SpecFieldType.Real, 2.0, "lwf: softmax temperature τ (Li & Hoiem 2017's T = 2); unused for regression, which distils by MSE.") { Min = 0, Max = 1e3, MinExclusive = true, WhenPath = "strategy.kind", WhenValues = ["lwf"] },
        new("strategy.si_c", SpecFieldType.Real, 0.1, "si: penalty strength c (Zenke et al. 2017, permuted MNIST; Mammoth's models/config/si.yaml).") { Min = 0, Max = 1e9, WhenPath = "strategy.kind", WhenValues = ["si"] },
        new("strategy.si_xi", SpecFieldType.Real, 0.1, "si: damping ξ in Ω += ω/((θ − θ*)² + ξ) (Mammoth's models/config/si.yaml, perm-mnist).") { Min = 0, Max = 1e6, MinExclusive = true, WhenPath = "strategy.kind", WhenValues = ["si"] },
        new("strategy.mas_lambda", SpecFieldType.Real, 1.0, "mas: penalty strength λ (Aljundi et al. 2018; Avalanche's MAS default lambda_reg = 1).") { Min = 0, Max = 1e9, WhenPath = "strategy.kind", WhenValues = ["mas"] },
        new("strategy.memory_per_task", SpecFieldType.Whole, 256L, "agem, gem: episodic memory per finished task, in samples (GEM's code: n_memories = 256; the A-GEM paper stores 250).") { Min = 1, Max = 1_000_000, WhenPath = "strategy.kind", WhenValues = ["agem", "gem"] },
        new("strategy.agem_reference_batch", SpecFieldType.Whole, 256L, "agem: memory samples drawn for g_ref each step (Chaudhry et al. 2019: 256).") { Min = 1, Max = 65536, WhenPath = "strategy.kind", WhenValues = ["agem"] },
        new("strategy.gem_margin", SpecFieldType.Real, 0.5, "gem: margin of the dual QP, v ≥ margin (GEM's code: memory_strength = 0.5).") { Min = 0, Max = 1e6, WhenPath = "strategy.kind", WhenValues = ["gem"] },
        new("strategy.derpp_alpha", SpecFieldType.Real, 0.3, "derpp: weight α of the stored-output MSE (Mammoth's models/config/derpp.yaml, buffer 500).") { Min = 0, Max = 1e6, WhenPath = "strategy.kind", WhenValues = ["derpp"] },
        new("strategy.derpp_beta", SpecFieldType.Real, 0.5, "derpp: weight β of the buffer's task loss (Mammoth's models/config/derpp.yaml, buffer 500).") { Min = 0, Max = 1e6, WhenPath = "strategy.kind", WhenValues = ["derpp"] },
    ];

    private static readonly Dictionary<string, SpecField> s_byPath = Fields.ToDictionary(f => f.Path, StringComparer.Ordinal);

    /// <summary>Paths of queue hints: part of the spec, not of a run's config (they do not change results).</summary>
    public static IReadOnlySet<string> QueueFields { get; } = new HashSet<string>(StringComparer.Ordinal) { "max_attempts", "priority", "description" };

    /// <summary>The field at a dotted path, or null.</summary>
    public static SpecField? Find(string path) => s_byPath.GetValueOrDefault(path);

    /// <summary>Whether a dotted path is a section (e.g. <c>training.optimizer</c>).</summary>
    public static bool IsSection(string path) => Fields.Any(f => f.Path.StartsWith(path + ".", StringComparison.Ordinal));

    /// <summary>
    /// A stored config's values by dotted path (as text) with every <see cref="SpecField.OmittedAtDefault"/> field that
    /// applies there put back at its default, so readers that compare runs (the report's groups) see rows against
    /// pixels, or rnn against linear, instead of a field that only some runs have.
    /// </summary>
    public static Dictionary<string, string> WithOmittedDefaults(Dictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var field in Fields)
        {
            if (field.OmittedAtDefault && field.Default is not null && !values.ContainsKey(field.Path)
                && (field.WhenPath is null || (values.TryGetValue(field.WhenPath, out var when) && field.WhenValues.Contains(when))))
            {
                values[field.Path] = SpecValues.Format(field.Default);
            }
        }

        return values;
    }
}
