-- tweetlake warehouse, version 10: a tweet's milestones (its metrics at 1, 6, 24, 48 and 168 hours
-- after posting, version 6's rules unchanged) and the report's growth-curve points kept in tables
-- by statement triggers, like the latest metrics of version 9, so v_tweet_metric_milestones,
-- v_metric_growth_share and the curves chart read rows kept for them instead of recomputing every
-- tweet from every snapshot. Same view names, same columns.
--
-- Both depend on a tweet's snapshots (fact_tweet_metrics) and on its created_at, tweet_type,
-- author_id and date_key (fact_tweet): a statement that writes or deletes either recomputes the
-- tweets it touched (for an update of fact_tweet, only those whose four columns changed) from
-- their own snapshots through the primary key. Whatever order the two datasets and late snapshots
-- arrive in, the tables hold what a full scan gives.
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

-- The report's growth curves: the snapshots under 72 hours of the tweets (retweets left out) first
-- seen within 6 hours of posting, with the 2-hour bin they fall in, kept by the same recomputation:
-- the chart aggregates these rows instead of finding every tweet's first snapshot and its curve.
CREATE TABLE tweet_metric_curve_points (
    tweet_id          bigint      NOT NULL,
    collected_at      timestamptz NOT NULL,
    author_id         bigint,
    date_key          integer,
    hours             integer     NOT NULL,
    like_count        bigint,
    impression_count  bigint,
    PRIMARY KEY (tweet_id, collected_at)
);
COMMENT ON TABLE tweet_metric_curve_points IS
    'fact_tweet_metrics under 72 h of the tweets first seen within 6 h, kept by triggers (see migration 0010)';

-- Recomputes the milestones and curve points of the given tweets: version 6's definition (see 0006),
-- restricted to them before the window, so the work follows their snapshots. EXECUTE plans each
-- statement for the array's real size (a tweet or a million); a random page costs what it costs
-- on an SSD, so that a few thousand tweets are probes of the primary keys, not a scan of every table
-- (bench/analytics_bench.py, 1 % of 1M tweets: 3.4 s with the default 4.0, 2.0 s with 1.1).
CREATE FUNCTION refresh_tweet_metric_milestones(tweets bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET random_page_cost = 1.1 AS $$
BEGIN
    EXECUTE 'DELETE FROM tweet_metric_milestones WHERE tweet_id = ANY ($1)' USING tweets;
    EXECUTE 'DELETE FROM tweet_metric_curve_points WHERE tweet_id = ANY ($1)' USING tweets;
    EXECUTE $sql$
    INSERT INTO tweet_metric_curve_points
    SELECT t.tweet_id, m.collected_at, t.author_id, t.date_key,
           (floor(extract(epoch FROM m.collected_at - t.created_at) / 7200) * 2)::int, m.like_count, m.impression_count
    FROM (SELECT DISTINCT unnest($1)) AS s(tweet_id)
    JOIN fact_tweet AS t ON t.tweet_id = s.tweet_id
    CROSS JOIN LATERAL (SELECT min(fm.collected_at) AS first_at FROM fact_tweet_metrics AS fm
                        WHERE fm.tweet_id = s.tweet_id) AS f
    JOIN fact_tweet_metrics AS m ON m.tweet_id = s.tweet_id
     AND m.collected_at >= t.created_at AND m.collected_at < t.created_at + interval '72 hours'
    WHERE t.tweet_type <> 'retweet' AND f.first_at - t.created_at BETWEEN interval '0' AND interval '6 hours'
    $sql$ USING tweets;
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

-- One recomputation per statement, of the tweets in its transition table ("touched"; for
-- fact_tweet, only those with snapshots, and for an update only those whose created_at,
-- tweet_type, author_id or date_key changed: a first load of tweets recomputes nothing).
CREATE FUNCTION keep_tweet_metric_milestones() RETURNS trigger
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
    ELSIF TG_TABLE_NAME = 'fact_tweet' THEN  -- a tweet without snapshots has nothing kept
        SELECT array_agg(n.tweet_id) INTO tweets FROM touched AS n
        WHERE EXISTS (SELECT 1 FROM fact_tweet_metrics AS m WHERE m.tweet_id = n.tweet_id);
    ELSE
        SELECT array_agg(DISTINCT tweet_id) INTO tweets FROM touched;
    END IF;
    IF tweets IS NOT NULL THEN
        PERFORM refresh_tweet_metric_milestones(tweets);
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
