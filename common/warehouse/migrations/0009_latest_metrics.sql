-- The latest metrics snapshot of each tweet, kept by the merges (fact_tweet_metrics' upsert is
-- followed by this table's): v_tweet_latest_metrics reads one row a tweet instead of sorting every
-- snapshot (tens of millions in a year of 100 accounts). Same view name, same columns.
--
-- The latest is the greatest (collected_at, record_key), the rule fact_tweet_metrics keeps for
-- one collected_at, so the two always agree; fact_tweet_metrics is never emptied (a full refresh
-- upserts the same rows), and neither is this table.
CREATE TABLE tweet_latest_metrics (
    tweet_id          bigint      PRIMARY KEY,
    collected_at      timestamptz NOT NULL,
    date_key          integer     NOT NULL,
    like_count        bigint,
    retweet_count     bigint,
    reply_count       bigint,
    quote_count       bigint,
    bookmark_count    bigint,
    impression_count  bigint,
    record_key        text
);
COMMENT ON TABLE tweet_latest_metrics IS
    'The latest fact_tweet_metrics row of each tweet (greatest collected_at, then record_key), kept by the merge';

INSERT INTO tweet_latest_metrics
SELECT DISTINCT ON (tweet_id) tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,
       quote_count, bookmark_count, impression_count, record_key
FROM fact_tweet_metrics
ORDER BY tweet_id, collected_at DESC, record_key DESC NULLS LAST;

CREATE OR REPLACE VIEW v_tweet_latest_metrics AS
SELECT tweet_id, collected_at, date_key, like_count, retweet_count, reply_count, quote_count,
       bookmark_count, impression_count
FROM tweet_latest_metrics;
