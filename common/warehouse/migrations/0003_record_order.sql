-- tweetlake warehouse, version 3: a total order between records of one collection time.
-- Two raw records of one tweet may share a collected_at (a page fetched twice in one second, a
-- re-published part). The latest collection still wins, and among equals the record with the
-- greater record_key (the lake file's key, then the line's place in it), in every run and whatever
-- order the files load in; fact_tweet's attributes and the metrics snapshot come from that record.
-- Rows loaded before this version have no key: the next record of the same collection time wins.

ALTER TABLE fact_tweet ADD COLUMN last_record_key text;
ALTER TABLE fact_tweet_metrics ADD COLUMN record_key text;

COMMENT ON COLUMN fact_tweet.last_record_key IS 'the raw record the attributes come from: <lake key>:<line order>';
COMMENT ON COLUMN fact_tweet_metrics.record_key IS 'the raw record the snapshot comes from: <lake key>:<line order>';
