-- Gates through time (DESIGN.md §12): per layer, on each task's probe batch, after every task (and every epoch when
-- evaluation runs per epoch; after_task 0 is the untrained model), the effective forget gate's mean at each time step,
-- one fixed probe sample's unit × time matrix, and the spread of every gate value (for histograms with exact
-- min/max/sum, as TensorBoard's HistogramProto wants). Written as upserts like every metric row.
CREATE TABLE gate_steps (
    run_id              INTEGER NOT NULL REFERENCES runs (id),
    after_task          INTEGER NOT NULL,
    epoch               INTEGER NOT NULL,
    layer               INTEGER NOT NULL,
    eval_task           INTEGER NOT NULL,
    probe_count         INTEGER NOT NULL,  -- samples in the probe batch (the task's first test samples)
    steps               INTEGER NOT NULL,
    units               INTEGER NOT NULL,
    step_means          TEXT NOT NULL,     -- JSON array [steps]: mean over probe samples and units per step
    sample_index        INTEGER NOT NULL,  -- the probe sample of the matrix (index into the task's test set)
    sample_gates        BLOB NOT NULL,     -- IEEE half floats, little-endian, [units, steps] unit-major
    value_count         INTEGER NOT NULL,
    value_min           REAL NOT NULL,
    value_max           REAL NOT NULL,
    value_sum           REAL NOT NULL,
    value_sum_squares   REAL NOT NULL,
    histogram           TEXT NOT NULL,     -- JSON array of 20 counts over [0, 1]
    PRIMARY KEY (run_id, after_task, epoch, layer, eval_task)
);
