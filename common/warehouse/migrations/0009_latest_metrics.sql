-- The latest metrics snapshot of each tweet, kept by statement triggers on fact_tweet_metrics (so
-- every writer keeps it: both merges, a hand load): v_tweet_latest_metrics reads one row a tweet
-- instead of sorting every snapshot (tens of millions in a year of 100 accounts). Same view name,
-- same columns.
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

-- One set-based upsert per statement, from the rows the statement wrote (its transition table).
CREATE FUNCTION keep_tweet_latest_metrics() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO tweet_latest_metrics AS l
    SELECT DISTINCT ON (tweet_id) tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,
           quote_count, bookmark_count, impression_count, record_key
    FROM written
    ORDER BY tweet_id, collected_at DESC, record_key DESC NULLS LAST
    ON CONFLICT (tweet_id) DO UPDATE SET
        collected_at = EXCLUDED.collected_at, date_key = EXCLUDED.date_key,
        like_count = EXCLUDED.like_count, retweet_count = EXCLUDED.retweet_count,
        reply_count = EXCLUDED.reply_count, quote_count = EXCLUDED.quote_count,
        bookmark_count = EXCLUDED.bookmark_count, impression_count = EXCLUDED.impression_count,
        record_key = EXCLUDED.record_key
    WHERE (EXCLUDED.collected_at, coalesce(EXCLUDED.record_key, '')) >= (l.collected_at, coalesce(l.record_key, ''))
      AND (l.collected_at, l.date_key, l.like_count, l.retweet_count, l.reply_count, l.quote_count,
           l.bookmark_count, l.impression_count, l.record_key)
          IS DISTINCT FROM
          (EXCLUDED.collected_at, EXCLUDED.date_key, EXCLUDED.like_count, EXCLUDED.retweet_count,
           EXCLUDED.reply_count, EXCLUDED.quote_count, EXCLUDED.bookmark_count, EXCLUDED.impression_count,
           EXCLUDED.record_key);
    RETURN NULL;
END
$$;
CREATE TRIGGER fact_tweet_metrics_latest_insert AFTER INSERT ON fact_tweet_metrics
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_latest_metrics();
CREATE TRIGGER fact_tweet_metrics_latest_update AFTER UPDATE ON fact_tweet_metrics
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_latest_metrics();

CREATE OR REPLACE VIEW v_tweet_latest_metrics AS
SELECT tweet_id, collected_at, date_key, like_count, retweet_count, reply_count, quote_count,
       bookmark_count, impression_count
FROM tweet_latest_metrics;
