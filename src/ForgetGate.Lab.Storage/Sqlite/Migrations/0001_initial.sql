-- ForgetGate.Lab store, SQLite dialect. Times are UTC ISO-8601 text ('2026-11-22T11:00:00.000Z'),
-- so they sort and compare as text and read well in the sqlite3 shell.
-- A PostgreSQL provider keeps the same tables and column names (its own numbered files).

CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    spec_text   TEXT NOT NULL,
    spec_hash   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY,
    sweep_id            INTEGER NOT NULL REFERENCES sweeps (id),
    config_json         TEXT NOT NULL,
    config_hash         TEXT NOT NULL,
    variant             TEXT,
    seed                INTEGER NOT NULL,
    status              TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority            INTEGER NOT NULL DEFAULT 0,
    attempt             INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL DEFAULT 3,
    lease_token         TEXT,
    lease_owner         TEXT,
    lease_expires_at    TEXT,
    heartbeat_at        TEXT,
    progress            REAL NOT NULL DEFAULT 0,
    progress_note       TEXT,
    queued_at           TEXT NOT NULL,
    started_at          TEXT,
    finished_at         TEXT,
    error               TEXT,
    code_version        TEXT,
    environment         TEXT,
    dataset_fingerprint TEXT,
    cancel_requested    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sweep_id, config_hash)
);

-- The claim query walks this index: queued runs by priority, then id (FIFO).
CREATE INDEX runs_claim ON runs (status, priority DESC, id);
-- The rescue query finds running runs whose lease expired.
CREATE INDEX runs_lease ON runs (status, lease_expires_at);

-- Every claim ever made, so "executed exactly once" and retries can be audited afterwards.
CREATE TABLE run_attempts (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    attempt     INTEGER NOT NULL,
    lease_token TEXT NOT NULL,
    lease_owner TEXT NOT NULL,
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, lease_token)
);

CREATE TABLE evaluations (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    after_task  INTEGER NOT NULL,
    epoch       INTEGER NOT NULL,
    eval_task   INTEGER NOT NULL,
    metric      TEXT NOT NULL,
    value       REAL NOT NULL,
    PRIMARY KEY (run_id, after_task, epoch, eval_task, metric)
);

CREATE TABLE training_curves (
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    task            INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    step            INTEGER NOT NULL,
    loss            REAL NOT NULL,
    samples_per_s   REAL NOT NULL,
    PRIMARY KEY (run_id, task, epoch, step)
);

CREATE TABLE gate_telemetry (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    after_task  INTEGER NOT NULL,
    layer       INTEGER NOT NULL,
    eval_task   INTEGER NOT NULL,
    mean        REAL NOT NULL,
    frac_gt_0_9 REAL NOT NULL,
    frac_lt_0_1 REAL NOT NULL,
    histogram   TEXT NOT NULL, -- JSON array of 20 bin fractions over [0, 1]
    PRIMARY KEY (run_id, after_task, layer, eval_task)
);

CREATE TABLE checkpoints (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    task        INTEGER NOT NULL,
    epoch       INTEGER NOT NULL,
    batch       INTEGER NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, task, epoch, batch)
);

CREATE TABLE run_summaries (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    metric      TEXT NOT NULL,
    convention  TEXT NOT NULL,
    value       REAL NOT NULL,
    PRIMARY KEY (run_id, metric, convention)
);
