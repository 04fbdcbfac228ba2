-- tweetlake warehouse, version 11: the milestones and curve points of version 10 recomputed only for
-- the tweets whose written snapshots can move them (same tables, same values).
--
-- A tweet's marks (1, 6, 24, 48 and 168 hours after posting) interpolate between its snapshots
-- around each mark, and its curve points are its snapshots under 72 hours; so a snapshot collected
-- more than 168 hours after posting moves nothing unless it is the first one past 168 hours after a
-- snapshot within them (the right end of the 168-hour segment): every other one is left alone. A
-- backfill loads mostly old posts seen once, long after posting (bench/merge_bench.py: 1.75 % of
-- 1M snapshots moved anything, and version 10 recomputed every one of their tweets). The same rule
-- holds for a deleted snapshot (judged against what is left) and, for an update, for the rows both
-- before and after it. A tweet without a row in fact_tweet, with no created_at, or a retweet keeps
-- nothing; fact_tweet's own triggers recompute a tweet when it arrives or those columns change.
-- Each snapshot past 168 hours costs one probe of the primary key (the snapshot before it).
CREATE OR REPLACE FUNCTION keep_tweet_metric_milestones() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    tweets bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN  -- no tweets or no snapshots: no milestones
        TRUNCATE tweet_metric_milestones, tweet_metric_curve_points;
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'fact_tweet' THEN
        SELECT array_agg(n.tweet_id) INTO tweets
        FROM touched AS n JOIN previous AS o ON o.tweet_id = n.tweet_id
        WHERE (n.created_at, n.tweet_type, n.author_id, n.date_key)
              IS DISTINCT FROM (o.created_at, o.tweet_type, o.author_id, o.date_key)
          AND EXISTS (SELECT 1 FROM fact_tweet_metrics AS m WHERE m.tweet_id = n.tweet_id);
    ELSIF TG_TABLE_NAME = 'fact_tweet' THEN  -- a new tweet keeps something only with a snapshot within 168 h
        SELECT array_agg(n.tweet_id) INTO tweets FROM touched AS n
        WHERE n.tweet_type <> 'retweet'
          AND EXISTS (SELECT 1 FROM fact_tweet_metrics AS m WHERE m.tweet_id = n.tweet_id
                      AND m.collected_at >= n.created_at AND m.collected_at <= n.created_at + interval '168 hours');
    ELSE  -- fact_tweet_metrics: the rows written or deleted (for an update, before and after)
        EXECUTE format($sql$
            SELECT array_agg(DISTINCT s.tweet_id) FROM (%s) AS s JOIN fact_tweet AS t ON t.tweet_id = s.tweet_id
            WHERE t.created_at IS NOT NULL AND t.tweet_type <> 'retweet'
              AND (s.collected_at <= t.created_at + interval '168 hours'  -- within 168 h, or before posting
                   OR EXISTS (SELECT 1 FROM (SELECT max(m.collected_at) AS at FROM fact_tweet_metrics AS m
                                             WHERE m.tweet_id = s.tweet_id AND m.collected_at < s.collected_at) AS p
                              WHERE p.at >= t.created_at AND p.at < t.created_at + interval '168 hours'))
            $sql$,
            CASE WHEN TG_OP = 'UPDATE'
                 THEN 'SELECT tweet_id, collected_at FROM touched UNION ALL SELECT tweet_id, collected_at FROM previous'
                 ELSE 'SELECT tweet_id, collected_at FROM touched' END)
        INTO tweets;
    END IF;
    IF tweets IS NOT NULL THEN
        PERFORM refresh_tweet_metric_milestones(tweets);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER fact_tweet_metrics_milestones_update ON fact_tweet_metrics;
CREATE TRIGGER fact_tweet_metrics_milestones_update AFTER UPDATE ON fact_tweet_metrics
    REFERENCING OLD TABLE AS previous NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
