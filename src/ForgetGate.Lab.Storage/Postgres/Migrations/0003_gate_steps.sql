-- Gates through time (DESIGN.md §12): per layer, on each task's probe batch, after every task (and every epoch when
-- evaluation runs per epoch; after_task 0 is the untrained model), the effective forget gate's mean at each time step,
-- one fixed probe sample's unit × time matrix, and the spread of every gate value (for histograms with exact
-- min/max/sum, as TensorBoard's HistogramProto wants). Written as upserts like every metric row.
CREATE TABLE gate_steps (
    run_id              BIGINT NOT NULL REFERENCES runs (id),
    after_task          BIGINT NOT NULL,
    epoch               BIGINT NOT NULL,
    layer               BIGINT NOT NULL,
    eval_task           BIGINT NOT NULL,
    probe_count         BIGINT NOT NULL,  -- samples in the probe batch (the task's first test samples)
    steps               BIGINT NOT NULL,
    units               BIGINT NOT NULL,
    step_means          TEXT NOT NULL,     -- JSON array [steps]: mean over probe samples and units per step
    sample_index        BIGINT NOT NULL,  -- the probe sample of the matrix (index into the task's test set)
    sample_gates        BYTEA NOT NULL,     -- IEEE half floats, little-endian, [units, steps] unit-major
    value_count         BIGINT NOT NULL,
    value_min           DOUBLE PRECISION NOT NULL,
    value_max           DOUBLE PRECISION NOT NULL,
    value_sum           DOUBLE PRECISION NOT NULL,
    value_sum_squares   DOUBLE PRECISION NOT NULL,
    histogram           TEXT NOT NULL,     -- JSON array of 20 counts over [0, 1]
    PRIMARY KEY (run_id, after_task, epoch, layer, eval_task)
);
