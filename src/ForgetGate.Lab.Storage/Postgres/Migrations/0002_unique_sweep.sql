-- A sweep is its (name, spec hash): queueing the same spec twice finds the same sweep. Until now the find-or-create
-- relied on SQLite serialising writers; the key makes it hold here, where writers run concurrently,
-- and lets the create be one INSERT … ON CONFLICT DO NOTHING.
CREATE UNIQUE INDEX sweeps_name_spec ON sweeps (name, spec_hash);
