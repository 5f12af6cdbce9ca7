-- Fair attempts for runs that share a worker process (issue 17): a run that kills the process (a native crash, not an
-- exception) also ends whatever the process's other slots were running, and their leases expire like its own.
-- lease_shared: the current lease was taken by a process that may run other runs beside this one (--concurrency > 1).
-- An expired lease with lease_shared = 1 is not counted as an attempt (no one can tell which run killed the process);
-- the run is quarantined instead. quarantined: the run is claimed only by a process that runs nothing else while it
-- runs, so its next crash is its own and counts. A true poison run still ends failed after max_attempts crashes alone.
ALTER TABLE runs ADD COLUMN lease_shared BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN quarantined BIGINT NOT NULL DEFAULT 0;
-- What each claim was, for the audit: taken beside other runs (shared) or alone under quarantine.
ALTER TABLE run_attempts ADD COLUMN shared BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_attempts ADD COLUMN quarantined BIGINT NOT NULL DEFAULT 0;
