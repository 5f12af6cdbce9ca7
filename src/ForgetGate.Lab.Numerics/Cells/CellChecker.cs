using System.Collections.Immutable;
using System.Globalization;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>The outcome of checking a cell: the graph, or every problem found (never both).</summary>
public sealed record CellCheckResult(CellGraph? Graph, ImmutableArray<CellDiagnostic> Diagnostics)
{
    /// <summary>Whether the cell checked without problems.</summary>
    public bool Ok => Graph is not null;
}

/// <summary>
/// Binds a parsed cell to a graph (DESIGN.md §4b): declarations (names, input_only, inits, params), every step line's
/// names and functions, exactly one primed line per state and h, no use before definition and no cycle, every block and
/// param used, <c>forget:</c> naming something, and no collision with a built-in variant name. Every problem is
/// collected with its location before the result is returned.
/// </summary>
public static class CellChecker
{
    private static readonly Dictionary<string, (CellOp Op, int Arity)> s_functions = new(StringComparer.Ordinal)
    {
        ["sigmoid"] = (CellOp.Sigmoid, 1),
        ["tanh"] = (CellOp.Tanh, 1),
        ["exp"] = (CellOp.Exp, 1),
        ["log"] = (CellOp.Log, 1),
        ["logsigmoid"] = (CellOp.LogSigmoid, 1),
        ["softplus"] = (CellOp.Softplus, 1),
        ["relu"] = (CellOp.Relu, 1),
        ["abs"] = (CellOp.Abs, 1),
        ["sqrt"] = (CellOp.Sqrt, 1),
        ["max"] = (CellOp.Max, 2),
        ["min"] = (CellOp.Min, 2),
        ["where"] = (CellOp.Where, 3),
    };

    /// <summary>The functions a step may call, as a readable list.</summary>
    public static string KnownFunctions => "sigmoid, tanh, exp, log, logsigmoid, softplus, relu, abs, sqrt, max(a, b), min(a, b), where(a >= b, x, y)";

    /// <summary>Whether <paramref name="name"/> is a function of the step language.</summary>
    public static bool IsFunction(string name) => s_functions.ContainsKey(name);

    /// <summary>Checks a definition; see the type's summary for what is checked.</summary>
    public static CellCheckResult Check(CellDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var diagnostics = new List<CellDiagnostic>();
        var binder = new Binder(definition, diagnostics);
        var graph = binder.Bind();
        var ordered = diagnostics
            .OrderBy(d => d.Location.File, StringComparer.Ordinal)
            .ThenBy(d => d.Location.Line)
            .ThenBy(d => d.Location.Column)
            .ToImmutableArray();
        return new CellCheckResult(ordered.Length == 0 ? graph : null, ordered);
    }

    private sealed class Binder(CellDefinition def, List<CellDiagnostic> diagnostics)
    {
        private readonly Dictionary<string, (CellOp Op, int Slot)> _inputs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _lineOf = new(StringComparer.Ordinal);       // unprimed line name → line
        private readonly Dictionary<string, int> _primedLineOf = new(StringComparer.Ordinal); // state/h name → line
        private readonly List<HashSet<int>> _lineDeps = [];
        private readonly List<(int From, int To, CellLocation At)> _forward = [];
        private readonly HashSet<string> _usedInputs = new(StringComparer.Ordinal);
        private readonly List<HashSet<string>> _lineInputs = [];
        private ImmutableArray<CellLineSyntax> _lines;

        private void Error(CellLocation at, string message) => diagnostics.Add(new CellDiagnostic(at, message));

        public CellGraph? Bind()
        {
            CheckName();
            var blockInits = CheckDeclarations();
            var paramInits = CheckParams();
            _lines = CellParser.Parse(def.Step, diagnostics);
            if (def.Step.All(l => string.IsNullOrWhiteSpace(l.Text)))
            {
                Error(def.Location, "step: is empty; write one line per new value, e.g. h' = sigmoid(o) * tanh(c').");
            }

            DefineLines();
            foreach (var line in _lines)
            {
                _lineDeps.Add([]);
                _lineInputs.Add(new HashSet<string>(StringComparer.Ordinal));
            }

            foreach (var line in _lines)
            {
                Resolve(line.Value, line.Index, topLevel: true);
            }

            CheckCycles();
            CheckOutputs();
            int forgetLine = CheckForget(out bool forgetOk);
            CheckUse(forgetLine);
            if (diagnostics.Count > 0 || !forgetOk)
            {
                return null;
            }

            return Build(blockInits, paramInits);
        }

        private void CheckName()
        {
            var name = def.Name;
            if (string.IsNullOrWhiteSpace(name.Text))
            {
                Error(name.Location, "name: is missing; a cell needs a name (what model.variant refers to).");
                return;
            }

            if (!IsSafeName(name.Text))
            {
                Error(name.Location, $"name '{name.Text}' may use only letters, digits, '-', '_' and '.', starting with a letter or digit.");
            }

            if (Variants.TryParse(name.Text, out var builtIn))
            {
                Error(name.Location, $"name '{name.Text}' collides with the built-in variant '{builtIn.Name()}'; give the cell another name.");
            }
        }

        /// <summary>Cell names become file names and checkpoint metadata: letters, digits, '-', '_', '.'.</summary>
        public static bool IsSafeName(string name) =>
            name.Length > 0 && name.Length <= 64 && char.IsAsciiLetterOrDigit(name[0])
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

        private bool CheckIdentifier(CellName n, string what)
        {
            string t = n.Text;
            bool ok = t.Length > 0 && (char.IsAsciiLetter(t[0]) || t[0] == '_') && t.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
            if (!ok)
            {
                Error(n.Location, $"{what} '{t}' is not a valid name (letters, digits and '_', not starting with a digit).");
                return false;
            }

            if (s_functions.ContainsKey(t))
            {
                Error(n.Location, $"{what} '{t}' is the name of a function; choose another name.");
                return false;
            }

            if (t == "h")
            {
                Error(n.Location, $"{what} 'h' is the hidden state, which every cell has; choose another name.");
                return false;
            }

            return true;
        }

        private void Declare(CellName n, CellOp op, int slot, string what)
        {
            if (!CheckIdentifier(n, what))
            {
                return;
            }

            if (!_inputs.TryAdd(n.Text, (op, slot)))
            {
                Error(n.Location, $"{what} '{n.Text}' is declared twice (names of gates, states and params must differ).");
            }
        }

        private ImmutableArray<CellInit> CheckDeclarations()
        {
            if (def.Gates.Length == 0)
            {
                Error(def.Location, "gates: is missing or empty; list the gate blocks, e.g. gates: [i, f, g, o].");
            }

            for (int i = 0; i < def.Gates.Length; i++)
            {
                Declare(def.Gates[i], CellOp.Block, i, "gate");
            }

            _inputs.TryAdd("h", (CellOp.Hidden, 0));
            for (int i = 0; i < def.States.Length; i++)
            {
                Declare(def.States[i], CellOp.State, i, "state");
            }

            var gateNames = def.Gates.Select(g => g.Text).ToList();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in def.InputOnly)
            {
                if (!gateNames.Contains(n.Text))
                {
                    Error(n.Location, $"input_only names '{n.Text}', which is not a gate; gates: {List(gateNames)}.");
                }
                else if (!seen.Add(n.Text))
                {
                    Error(n.Location, $"input_only names '{n.Text}' twice.");
                }
            }

            var inits = Enumerable.Repeat(new CellInit(CellInitKind.Default), def.Gates.Length).ToArray();
            seen.Clear();
            foreach (var e in def.Init)
            {
                int g = gateNames.IndexOf(e.Target.Text);
                if (g < 0)
                {
                    Error(e.Target.Location, $"init names '{e.Target.Text}', which is not a gate; init sets a gate block's bias (gates: {List(gateNames)}).");
                    continue;
                }

                if (!seen.Add(e.Target.Text))
                {
                    Error(e.Target.Location, $"init names gate '{e.Target.Text}' twice.");
                }

                var rule = CellInit.TryParse(e.Init, out string? error);
                if (rule is null)
                {
                    Error(e.InitLocation, $"init of gate '{e.Target.Text}': {error}");
                }
                else
                {
                    inits[g] = rule;
                }
            }

            return [.. inits];
        }

        private ImmutableArray<CellInit> CheckParams()
        {
            var inits = new List<CellInit>();
            for (int i = 0; i < def.Params.Length; i++)
            {
                var e = def.Params[i];
                Declare(e.Target, CellOp.Param, i, "param");
                var rule = CellInit.TryParse(e.Init, out string? error);
                if (rule is null)
                {
                    Error(e.InitLocation, $"init of param '{e.Target.Text}': {error}");
                    inits.Add(new CellInit(CellInitKind.Default));
                }
                else
                {
                    inits.Add(rule);
                }
            }

            return [.. inits];
        }

        private bool IsState(string name) => name == "h" || (_inputs.TryGetValue(name, out var i) && i.Op == CellOp.State);

        private string StateList => List(["h", .. def.States.Select(s => s.Text)]);

        private void DefineLines()
        {
            foreach (var line in _lines)
            {
                var t = line.Target;
                if (t.Primed)
                {
                    if (!IsState(t.Name))
                    {
                        Error(t.Location, $"'{t.Written}' is primed but '{t.Name}' is not a state; primed lines give new values of h and the states ({StateList}).");
                    }
                    else if (!_primedLineOf.TryAdd(t.Name, line.Index))
                    {
                        Error(t.Location, $"'{t.Written}' is defined twice (first on line {LineNumber(_primedLineOf[t.Name])}); each state gets exactly one primed line.");
                    }

                    continue;
                }

                if (_inputs.TryGetValue(t.Name, out var input))
                {
                    Error(t.Location, $"'{t.Name}' is already a {KindName(input.Op)}; a line defines a new name (for a state's new value write {t.Name}').");
                }
                else if (s_functions.ContainsKey(t.Name))
                {
                    Error(t.Location, $"'{t.Name}' is the name of a function; choose another name.");
                }
                else if (!_lineOf.TryAdd(t.Name, line.Index))
                {
                    Error(t.Location, $"'{t.Name}' is defined twice (first on line {LineNumber(_lineOf[t.Name])}).");
                }
            }
        }

        private string LineNumber(int line) => _lines[line].Target.Location.Line > 0
            ? _lines[line].Target.Location.Line.ToString(CultureInfo.InvariantCulture)
            : $"{line + 1} of the step";

        private static string KindName(CellOp op) => op switch
        {
            CellOp.Block => "gate",
            CellOp.State => "state",
            CellOp.Param => "param",
            _ => "the hidden state",
        };

        private static string List(IEnumerable<string> names)
        {
            var list = names.ToList();
            return list.Count == 0 ? "(none)" : string.Join(", ", list);
        }

        private string KnownNames(int beforeLine) => List(
            _inputs.Keys.Concat(_lines.Where(l => l.Index < beforeLine).Select(l => l.Target.Written)));

        private void Resolve(CellSyntax node, int line, bool topLevel)
        {
            switch (node)
            {
                case CellNumberSyntax:
                    break;
                case CellNameSyntax n:
                    ResolveName(n, line);
                    break;
                case CellNegateSyntax u:
                    Resolve(u.Operand, line, false);
                    break;
                case CellBinarySyntax b:
                    Resolve(b.Left, line, false);
                    Resolve(b.Right, line, false);
                    break;
                case CellComparisonSyntax c:
                    Error(c.Location, $"A comparison ('{c.Operator}') is allowed only as the first argument of where(a >= b, x, y).");
                    Resolve(c.Left, line, false);
                    Resolve(c.Right, line, false);
                    break;
                case CellCallSyntax call:
                    ResolveCall(call, line);
                    break;
                default:
                    break;
            }

            _ = topLevel;
        }

        private void ResolveCall(CellCallSyntax call, int line)
        {
            if (!s_functions.TryGetValue(call.Function, out var f))
            {
                Error(call.Location, $"Unknown function '{call.Function}'; known functions: {KnownFunctions}.");
            }
            else if (call.Arguments.Length != f.Arity)
            {
                Error(call.Location, $"{call.Function}() takes {f.Arity} argument(s), got {call.Arguments.Length}.");
            }

            for (int i = 0; i < call.Arguments.Length; i++)
            {
                var arg = call.Arguments[i];
                if (f.Op == CellOp.Where && i == 0 && call.Function == "where")
                {
                    if (arg is CellComparisonSyntax cmp)
                    {
                        Resolve(cmp.Left, line, false);
                        Resolve(cmp.Right, line, false);
                    }
                    else
                    {
                        Error(arg.Location, "where() needs a comparison as its first argument, e.g. where(u >= 0, a, b).");
                        Resolve(arg, line, false);
                    }

                    continue;
                }

                Resolve(arg, line, false);
            }
        }

        private void ResolveName(CellNameSyntax n, int line)
        {
            if (n.Primed)
            {
                if (_primedLineOf.TryGetValue(n.Name, out int def))
                {
                    Depend(line, def, n.Location);
                }
                else if (IsState(n.Name))
                {
                    Error(n.Location, $"'{n.Written}' is used but no line defines it; add a line {n.Written} = ….");
                }
                else
                {
                    Error(n.Location, $"'{n.Written}' is not defined: only states and h have primed values ({StateList}).");
                }

                return;
            }

            if (_inputs.ContainsKey(n.Name))
            {
                _usedInputs.Add(n.Name);
                _lineInputs[line].Add(n.Name);
                return;
            }

            if (_lineOf.TryGetValue(n.Name, out int at))
            {
                Depend(line, at, n.Location);
                return;
            }

            if (s_functions.ContainsKey(n.Name))
            {
                Error(n.Location, $"'{n.Name}' is a function; call it as {n.Name}(…).");
                return;
            }

            Error(n.Location, $"Undefined name '{n.Name}'; names defined here: {KnownNames(line)}.");
        }

        private void Depend(int line, int on, CellLocation at)
        {
            _lineDeps[line].Add(on);
            if (on >= line)
            {
                _forward.Add((line, on, at));
            }
        }

        private void CheckCycles()
        {
            var reported = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (from, to, at) in _forward)
            {
                var path = PathTo(to, from);
                string used = _lines[to].Target.Written;
                if (path is null)
                {
                    Error(at, $"'{used}' is used before it is defined (on line {LineNumber(to)}); move that line up.");
                    continue;
                }

                // path runs to → … → from along "depends on"; the cycle reads from → to → … → from.
                var cycle = new List<int> { from };
                cycle.AddRange(path);
                string key = string.Join(",", cycle.Distinct().Order());
                if (reported.Add(key))
                {
                    Error(at, $"Cycle: {string.Join(" → ", cycle.Select(l => _lines[l].Target.Written))} (a value cannot depend on itself within a step; use a state for values carried to the next step).");
                }
            }
        }

        /// <summary>A dependency path start → … → goal over lines (inclusive), or null.</summary>
        private List<int>? PathTo(int start, int goal)
        {
            var previous = new Dictionary<int, int> { [start] = -1 };
            var queue = new Queue<int>();
            queue.Enqueue(start);
            while (queue.Count > 0)
            {
                int l = queue.Dequeue();
                if (l == goal)
                {
                    var path = new List<int>();
                    for (int at = l; at >= 0; at = previous[at])
                    {
                        path.Add(at);
                    }

                    path.Reverse();
                    return path;
                }

                foreach (int d in _lineDeps[l])
                {
                    if (previous.TryAdd(d, l))
                    {
                        queue.Enqueue(d);
                    }
                }
            }

            return null;
        }

        private void CheckOutputs()
        {
            if (!_primedLineOf.ContainsKey("h"))
            {
                Error(def.Step.Length > 0 ? def.Step[0].Location : def.Location, "No line defines h'; every cell gives the new hidden state as h' = ….");
            }

            foreach (var s in def.States)
            {
                if (_inputs.TryGetValue(s.Text, out var i) && i.Op == CellOp.State && !_primedLineOf.ContainsKey(s.Text))
                {
                    Error(s.Location, $"State '{s.Text}' has no line {s.Text}' = …; every state gets exactly one primed line.");
                }
            }
        }

        private int CheckForget(out bool ok)
        {
            ok = true;
            var f = def.Forget;
            if (f is null || string.IsNullOrWhiteSpace(f.Text))
            {
                Error(f?.Location ?? def.Location, "forget: is missing; name the quantity reports show as the effective forget gate (e.g. forget: f_).");
                ok = false;
                return -1;
            }

            string t = f.Text.Trim();
            if (t.EndsWith('\'') && _primedLineOf.TryGetValue(t[..^1], out int pl))
            {
                return pl;
            }

            if (_lineOf.TryGetValue(t, out int line))
            {
                return line;
            }

            if (_inputs.ContainsKey(t))
            {
                return -1;
            }

            Error(f.Location, $"forget: names '{t}', which the cell does not define; names defined: {KnownNames(int.MaxValue)}.");
            ok = false;
            return -1;
        }

        private void CheckUse(int forgetLine)
        {
            var used = new HashSet<int>();
            var stack = new Stack<int>(_primedLineOf.Values);
            if (forgetLine >= 0)
            {
                stack.Push(forgetLine);
            }

            while (stack.Count > 0)
            {
                int l = stack.Pop();
                if (!used.Add(l))
                {
                    continue;
                }

                foreach (int d in _lineDeps[l])
                {
                    stack.Push(d);
                }
            }

            var reachedInputs = new HashSet<string>(used.SelectMany(l => _lineInputs[l]), StringComparer.Ordinal);
            foreach (var g in def.Gates)
            {
                if (_inputs.TryGetValue(g.Text, out var i) && i.Op == CellOp.Block && !reachedInputs.Contains(g.Text))
                {
                    Error(g.Location, $"Gate '{g.Text}' is never used by the step; remove it from gates or use it.");
                }
            }

            foreach (var p in def.Params)
            {
                if (_inputs.TryGetValue(p.Target.Text, out var i) && i.Op == CellOp.Param && !reachedInputs.Contains(p.Target.Text))
                {
                    Error(p.Target.Location, $"Param '{p.Target.Text}' is never used by the step; remove it or use it.");
                }
            }

            foreach (var line in _lines)
            {
                if (!used.Contains(line.Index))
                {
                    Error(line.Target.Location, $"'{line.Target.Written}' is defined but nothing uses it (neither h', a state nor forget:).");
                }
            }
        }

        private CellGraph Build(ImmutableArray<CellInit> blockInits, ImmutableArray<CellInit> paramInits)
        {
            var b = new GraphBuilder();
            for (int i = 0; i < def.Gates.Length; i++)
            {
                b.Input(CellOp.Block, i, def.Gates[i].Text);
            }

            b.Input(CellOp.Hidden, 0, "h");
            for (int i = 0; i < def.States.Length; i++)
            {
                b.Input(CellOp.State, i, def.States[i].Text);
            }

            for (int i = 0; i < def.Params.Length; i++)
            {
                b.Input(CellOp.Param, i, def.Params[i].Target.Text);
            }

            var lineNode = new int[_lines.Length];
            foreach (var line in _lines)
            {
                lineNode[line.Index] = Emit(b, line.Value, lineNode);
                b.Name(lineNode[line.Index], line.Target.Written);
            }

            int hidden = lineNode[_primedLineOf["h"]];
            var states = def.States.Select(s => lineNode[_primedLineOf[s.Text]]).ToImmutableArray();
            string f = def.Forget!.Text.Trim();
            int forget = f.EndsWith('\'') && _primedLineOf.TryGetValue(f[..^1], out int pl) ? lineNode[pl]
                : _lineOf.TryGetValue(f, out int l) ? lineNode[l]
                : InputNode(f);
            return new CellGraph(def, b.ToNodes(), hidden, states, forget, blockInits, paramInits);
        }

        private int InputNode(string name)
        {
            var (op, slot) = _inputs[name];
            return op switch
            {
                CellOp.Block => slot,
                CellOp.Hidden => def.Gates.Length,
                CellOp.State => def.Gates.Length + 1 + slot,
                _ => def.Gates.Length + 1 + def.States.Length + slot,
            };
        }

        private int Emit(GraphBuilder b, CellSyntax node, int[] lineNode)
        {
            switch (node)
            {
                case CellNumberSyntax n:
                    return b.Constant(n.Value);
                case CellNameSyntax n when n.Primed:
                    return lineNode[_primedLineOf[n.Name]];
                case CellNameSyntax n:
                    return _inputs.ContainsKey(n.Name) ? InputNode(n.Name) : lineNode[_lineOf[n.Name]];
                case CellNegateSyntax u:
                    return b.Op(CellOp.Negate, Emit(b, u.Operand, lineNode));
                case CellBinarySyntax bin:
                    {
                        int l = Emit(b, bin.Left, lineNode);
                        int r = Emit(b, bin.Right, lineNode);
                        var op = bin.Operator switch
                        {
                            '+' => CellOp.Add,
                            '-' => CellOp.Subtract,
                            '*' => CellOp.Multiply,
                            _ => CellOp.Divide,
                        };
                        return b.Op(op, l, r);
                    }

                case CellCallSyntax call when call.Function == "where":
                    {
                        var cmp = (CellComparisonSyntax)call.Arguments[0];
                        int l = Emit(b, cmp.Left, lineNode);
                        int r = Emit(b, cmp.Right, lineNode);
                        int x = Emit(b, call.Arguments[1], lineNode);
                        int y = Emit(b, call.Arguments[2], lineNode);
                        var c = cmp.Operator switch
                        {
                            ">=" => CellComparison.GreaterOrEqual,
                            ">" => CellComparison.Greater,
                            "<=" => CellComparison.LessOrEqual,
                            _ => CellComparison.Less,
                        };
                        return b.Where(c, l, r, x, y);
                    }

                case CellCallSyntax call:
                    {
                        var (op, _) = s_functions[call.Function];
                        var args = call.Arguments.Select(a => Emit(b, a, lineNode)).ToArray();
                        return b.Op(op, args);
                    }

                default:
                    throw new InvalidOperationException($"Unexpected syntax node {node.GetType().Name}.");
            }
        }
    }

    /// <summary>Appends nodes in evaluation order and shares identical ones (same op, operands and constant).</summary>
    private sealed class GraphBuilder
    {
        private readonly List<(CellOp Op, int[] Operands, int Slot, double Value, CellComparison Cmp)> _nodes = [];
        private readonly List<string?> _names = [];
        private readonly Dictionary<string, int> _shared = new(StringComparer.Ordinal);

        public void Input(CellOp op, int slot, string name)
        {
            _nodes.Add((op, [], slot, 0, CellComparison.None));
            _names.Add(name);
        }

        public void Name(int node, string name) => _names[node] ??= name;

        public int Constant(double value) => Add(CellOp.Constant, [], value, CellComparison.None);

        public int Op(CellOp op, params int[] operands) => Add(op, operands, 0, CellComparison.None);

        public int Where(CellComparison cmp, int l, int r, int x, int y) => Add(CellOp.Where, [l, r, x, y], 0, cmp);

        private int Add(CellOp op, int[] operands, double value, CellComparison cmp)
        {
            string key = string.Create(CultureInfo.InvariantCulture, $"{op}|{string.Join(",", operands)}|{BitConverter.DoubleToInt64Bits(value)}|{cmp}");
            if (_shared.TryGetValue(key, out int existing))
            {
                return existing;
            }

            _nodes.Add((op, operands, 0, value, cmp));
            _names.Add(null);
            _shared[key] = _nodes.Count - 1;
            return _nodes.Count - 1;
        }

        public ImmutableArray<CellNode> ToNodes() =>
            [.. _nodes.Select((n, i) => new CellNode(n.Op, [.. n.Operands], n.Slot, n.Value, n.Cmp, _names[i]))];
    }
}
