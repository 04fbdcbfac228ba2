-- tweetlake warehouse, version 10: a tweet's milestones (its metrics at 1, 6, 24, 48 and 168 hours
-- after posting, version 6's rules unchanged) kept in a table by statement triggers, like the latest
-- metrics of version 9, so v_tweet_metric_milestones and v_metric_growth_share read a row a mark
-- instead of recomputing every tweet from every snapshot. Same view names, same columns.
--
-- A tweet's milestones depend on its snapshots (fact_tweet_metrics) and on its created_at,
-- tweet_type and author_id (fact_tweet): a statement that writes or deletes either recomputes the
-- milestones of the tweets it touched (only those whose three columns changed, for an update of
-- fact_tweet), from their own snapshots through the primary key. Whatever order the two datasets
-- and late snapshots arrive in, the table holds what version 6's full scan gives.
CREATE TABLE tweet_metric_milestones (
    tweet_id   bigint           NOT NULL,
    metric     text             NOT NULL,
    hours      integer          NOT NULL,
    author_id  bigint,
    value      double precision NOT NULL,
    value_7d   double precision,
    PRIMARY KEY (tweet_id, metric, hours)
);
COMMENT ON TABLE tweet_metric_milestones IS
    'v_tweet_metric_milestones kept by triggers on fact_tweet_metrics and fact_tweet (see migration 0010)';
-- the rows v_metric_growth_share aggregates: tweets with a known, non-zero 7-day value
CREATE INDEX tweet_metric_milestones_share ON tweet_metric_milestones (author_id, metric, hours)
    WHERE value_7d <> 0 AND hours < 168;

-- Each tweet's first snapshot (the report's growth curves keep the tweets first seen within 6 hours
-- of posting), kept by the same triggers from fact_tweet_metrics alone.
CREATE TABLE tweet_first_metrics (
    tweet_id            bigint      PRIMARY KEY,
    first_collected_at  timestamptz NOT NULL
);
COMMENT ON TABLE tweet_first_metrics IS
    'The earliest fact_tweet_metrics.collected_at of each tweet, kept by triggers (see migration 0010)';
INSERT INTO tweet_first_metrics SELECT tweet_id, min(collected_at) FROM fact_tweet_metrics GROUP BY tweet_id;

-- Recomputes the milestones of the given tweets: version 6's definition (see 0006), restricted to
-- them before the window, so the work follows their snapshots. EXECUTE plans it for the array's
-- real size (a tweet or a million).
CREATE FUNCTION refresh_tweet_metric_milestones(tweets bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM tweet_metric_milestones AS k USING (SELECT DISTINCT unnest(tweets)) AS s(tweet_id)
    WHERE k.tweet_id = s.tweet_id;
    EXECUTE $sql$
    WITH snapshots AS (
        SELECT m.tweet_id, t.author_id,
               extract(epoch FROM m.collected_at - t.created_at) / 3600.0 AS h,
               m.like_count, m.retweet_count, m.reply_count, m.impression_count,
               lead(m.collected_at) OVER w AS next_at,
               lead(m.like_count) OVER w AS next_like, lead(m.retweet_count) OVER w AS next_retweet,
               lead(m.reply_count) OVER w AS next_reply, lead(m.impression_count) OVER w AS next_impression,
               row_number() OVER w AS n,
               t.created_at
        FROM (SELECT DISTINCT unnest($1)) AS s(tweet_id)
        JOIN fact_tweet AS t ON t.tweet_id = s.tweet_id
        JOIN fact_tweet_metrics AS m ON m.tweet_id = s.tweet_id
        WHERE t.created_at IS NOT NULL AND m.collected_at >= t.created_at AND t.tweet_type <> 'retweet'
        WINDOW w AS (PARTITION BY m.tweet_id ORDER BY m.collected_at)
    ), segments AS (
        SELECT s.tweet_id, s.author_id, g.h0, g.h1, g.v0, g.v1
        FROM snapshots AS s
        CROSS JOIN LATERAL (VALUES
            (s.h, extract(epoch FROM s.next_at - s.created_at) / 3600.0,
             ARRAY[s.like_count, s.retweet_count, s.reply_count, s.impression_count]::double precision[],
             ARRAY[s.next_like, s.next_retweet, s.next_reply, s.next_impression]::double precision[]),
            (CASE WHEN s.n = 1 AND s.h > 0 AND s.h <= 6 THEN 0.0 END, s.h,
             ARRAY[0, 0, 0, 0]::double precision[],
             ARRAY[s.like_count, s.retweet_count, s.reply_count, s.impression_count]::double precision[])
        ) AS g(h0, h1, v0, v1)
        WHERE g.h0 IS NOT NULL
    ), marks AS (
        SELECT sg.tweet_id, sg.author_id, metric.name AS metric, mk.hours,
               CASE WHEN sg.h0 = mk.hours OR sg.h1 IS NULL THEN sg.v0[metric.i]
                    ELSE sg.v0[metric.i] + (sg.v1[metric.i] - sg.v0[metric.i]) * (mk.hours - sg.h0) / (sg.h1 - sg.h0)
               END AS value
        FROM segments AS sg
        JOIN (VALUES (1), (6), (24), (48), (168)) AS mk(hours)
          ON (sg.h0 <= mk.hours AND mk.hours < sg.h1) OR (sg.h1 IS NULL AND sg.h0 = mk.hours)
        CROSS JOIN (VALUES (1, 'likes'), (2, 'retweets'), (3, 'replies'), (4, 'impressions')) AS metric(i, name)
    )
    INSERT INTO tweet_metric_milestones (tweet_id, metric, hours, author_id, value, value_7d)
    SELECT k.tweet_id, k.metric, k.hours, k.author_id, k.value,
           max(k.value) FILTER (WHERE k.hours = 168) OVER (PARTITION BY k.tweet_id, k.metric)
    FROM marks AS k
    WHERE k.value IS NOT NULL
    $sql$ USING tweets;
END
$$;

SELECT refresh_tweet_metric_milestones(array_agg(DISTINCT tweet_id)) FROM fact_tweet_metrics;

-- One recomputation per statement, of the tweets in its transition table ("touched"; for an
-- update of fact_tweet, only those whose created_at, tweet_type or author_id changed).
CREATE FUNCTION keep_tweet_metric_milestones() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    tweets bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN  -- no tweets or no snapshots: no milestones
        TRUNCATE tweet_metric_milestones;
        IF TG_TABLE_NAME = 'fact_tweet_metrics' THEN
            TRUNCATE tweet_first_metrics;
        END IF;
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'fact_tweet' THEN
        SELECT array_agg(n.tweet_id) INTO tweets
        FROM touched AS n JOIN previous AS o ON o.tweet_id = n.tweet_id
        WHERE (n.created_at, n.tweet_type, n.author_id) IS DISTINCT FROM (o.created_at, o.tweet_type, o.author_id);
    ELSE
        SELECT array_agg(DISTINCT tweet_id) INTO tweets FROM touched;
    END IF;
    IF tweets IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM refresh_tweet_metric_milestones(tweets);
    IF TG_TABLE_NAME = 'fact_tweet_metrics' AND TG_OP = 'INSERT' THEN  -- collected_at only added
        INSERT INTO tweet_first_metrics AS f
        SELECT tweet_id, min(collected_at) FROM touched GROUP BY tweet_id
        ON CONFLICT (tweet_id) DO UPDATE SET first_collected_at = EXCLUDED.first_collected_at
        WHERE EXCLUDED.first_collected_at < f.first_collected_at;
    ELSIF TG_TABLE_NAME = 'fact_tweet_metrics' THEN
        DELETE FROM tweet_first_metrics WHERE tweet_id = ANY (tweets);
        INSERT INTO tweet_first_metrics
        SELECT s.tweet_id, m.first_at FROM unnest(tweets) AS s(tweet_id)
        CROSS JOIN LATERAL (SELECT min(collected_at) AS first_at FROM fact_tweet_metrics AS fm
                            WHERE fm.tweet_id = s.tweet_id) AS m
        WHERE m.first_at IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER fact_tweet_metrics_milestones_insert AFTER INSERT ON fact_tweet_metrics
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_metrics_milestones_update AFTER UPDATE ON fact_tweet_metrics
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_metrics_milestones_delete AFTER DELETE ON fact_tweet_metrics
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_metrics_milestones_truncate AFTER TRUNCATE ON fact_tweet_metrics
    FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_milestones_insert AFTER INSERT ON fact_tweet
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_milestones_update AFTER UPDATE ON fact_tweet
    REFERENCING OLD TABLE AS previous NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_milestones_delete AFTER DELETE ON fact_tweet
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();
CREATE TRIGGER fact_tweet_milestones_truncate AFTER TRUNCATE ON fact_tweet
    FOR EACH STATEMENT EXECUTE FUNCTION keep_tweet_metric_milestones();

-- The two views read the table; v_metric_growth_share's filter (a known share) is the partial
-- index's predicate, spelled so the planner sees it.
CREATE OR REPLACE VIEW v_tweet_metric_milestones AS
SELECT tweet_id, author_id, metric, hours, value, value_7d, value / nullif(value_7d, 0) AS share_of_7d
FROM tweet_metric_milestones;

CREATE OR REPLACE VIEW v_metric_growth_share AS
SELECT k.author_id, u.username, k.metric, k.hours,
       count(*) AS tweets,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY k.value / k.value_7d) AS median_share_of_7d
FROM tweet_metric_milestones AS k
LEFT JOIN dim_user AS u ON u.user_id = k.author_id AND u.is_current
WHERE k.value_7d <> 0 AND k.hours < 168
GROUP BY k.author_id, u.username, k.metric, k.hours;
