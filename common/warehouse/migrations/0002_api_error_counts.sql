-- tweetlake warehouse, version 2: API error records counted apart from loaded rows.
-- An API error record (deleted tweet, suspended or protected account) is used — it marks a tweet
-- deleted — but it is not a row of data, so it no longer counts in rows_loaded. Files loaded before
-- this migration keep their old counts: their rows_loaded includes their error records, and their
-- rows_api_errors is 0.

ALTER TABLE etl_file_ledger ADD COLUMN rows_api_errors bigint NOT NULL DEFAULT 0;
ALTER TABLE etl_run ADD COLUMN rows_api_errors bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN etl_file_ledger.rows_loaded IS 'data records of the file loaded (API error records excluded since version 2)';
COMMENT ON COLUMN etl_file_ledger.rows_api_errors IS 'API error records of the file (used to mark deletions, not loaded as data)';
COMMENT ON COLUMN etl_file_ledger.rows_quarantined IS 'lines of the file sent to <lake>/quarantine/';
