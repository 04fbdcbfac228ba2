-- tweetlake warehouse, version 8: lake files quarantined whole.
-- A raw file that cannot be read (empty, not gzip, a truncated or corrupt gzip stream, bytes that
-- are not UTF-8, a line longer than 1 MiB, no lines) is recorded with status 'quarantined' and the
-- reason, and never read again unless a run is asked to (tweetlake job … --retry-quarantined);
-- the run loads every other file. Files loaded before this version are 'loaded'.

ALTER TABLE etl_file_ledger ADD COLUMN status text NOT NULL DEFAULT 'loaded';
ALTER TABLE etl_file_ledger ADD COLUMN reason text;
ALTER TABLE etl_file_ledger ADD CONSTRAINT etl_file_ledger_status CHECK (status IN ('loaded', 'quarantined'));
ALTER TABLE etl_file_ledger ADD CONSTRAINT etl_file_ledger_reason
    CHECK ((status = 'quarantined') = (reason IS NOT NULL));
CREATE INDEX etl_file_ledger_quarantined ON etl_file_ledger (dataset) WHERE status = 'quarantined';
ALTER TABLE etl_run ADD COLUMN files_quarantined integer NOT NULL DEFAULT 0;

COMMENT ON COLUMN etl_file_ledger.status IS 'loaded, or quarantined: the file could not be read and none of its lines loaded';
COMMENT ON COLUMN etl_file_ledger.reason IS 'why a quarantined file could not be read (NULL when loaded)';
COMMENT ON COLUMN etl_run.files_quarantined IS 'files of the run quarantined whole (counted in files too)';
