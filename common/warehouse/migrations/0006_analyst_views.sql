-- tweetlake warehouse, version 6: views that answer an analyst's questions.
-- The four views of version 1 keep their columns (CREATE OR REPLACE may only add columns at the
-- end), so queries written against them keep working; what they lacked is added after them.
-- Days are UTC days (date_key); hours are hours since posting (created_at).

-- The current profile with its latest daily counts.
CREATE OR REPLACE VIEW v_user_current AS
SELECT d.user_key, d.user_id, d.username, d.name, d.description, d.location, d.url, d.profile_image_url,
       d.verified, d.verified_type, d.protected, d.account_created_at, d.valid_from,
       c.followers_count, c.following_count, c.tweet_count, c.listed_count, c.like_count,
       c.date_key AS counts_date_key, c.collected_at AS counts_collected_at
FROM dim_user AS d
LEFT JOIN LATERAL (
    SELECT f.followers_count, f.following_count, f.tweet_count, f.listed_count, f.like_count, f.date_key, f.collected_at
    FROM fact_user_daily AS f
    WHERE f.user_id = d.user_id
    ORDER BY f.date_key DESC
    LIMIT 1
) AS c ON true
WHERE d.is_current;

-- Follower growth with the current username: against the previous snapshot (whatever the gap:
-- days_since_previous says it), day over day (only when the previous snapshot is the day before),
-- and week over week (against the latest snapshot at least 7 days earlier).
CREATE OR REPLACE VIEW v_user_growth AS
WITH daily AS (
    SELECT f.user_id, f.date_key, dd.full_date, f.followers_count, f.following_count, f.tweet_count,
           lag(f.date_key) OVER w AS previous_date_key,
           lag(dd.full_date) OVER w AS previous_date,
           f.followers_count - lag(f.followers_count) OVER w AS followers_change,
           f.following_count - lag(f.following_count) OVER w AS following_change,
           f.tweet_count - lag(f.tweet_count) OVER w AS tweet_count_change
    FROM fact_user_daily AS f
    JOIN dim_date AS dd ON dd.date_key = f.date_key
    WINDOW w AS (PARTITION BY f.user_id ORDER BY f.date_key)
)
SELECT g.user_id, g.date_key, g.followers_count, g.previous_date_key, g.followers_change, g.following_change,
       g.tweet_count_change,
       u.username, g.full_date,
       g.full_date - g.previous_date AS days_since_previous,
       CASE WHEN g.full_date - g.previous_date = 1 THEN g.followers_change END AS followers_change_1d,
       wk.date_key AS week_base_date_key,
       g.followers_count - wk.followers_count AS followers_change_7d
FROM daily AS g
LEFT JOIN dim_user AS u ON u.user_id = g.user_id AND u.is_current
LEFT JOIN LATERAL (
    SELECT b.date_key, b.followers_count
    FROM fact_user_daily AS b
    WHERE b.user_id = g.user_id AND b.date_key <= to_char(g.full_date - 7, 'YYYYMMDD')::integer
    ORDER BY b.date_key DESC
    LIMIT 1
) AS wk ON true;

-- Engagement per tweet (latest metrics snapshot), with the author's followers as of the tweet's
-- day: the latest snapshot on or before it, else the earliest after it (a backfilled tweet
-- predates every snapshot). followers_days_from_tweet is the snapshot's day minus the tweet's day
-- (0 = same day, negative = before, positive = after), so an analyst can filter on distance.
-- author_followers is NULL only when the author has no snapshot at all.
CREATE OR REPLACE VIEW v_tweet_engagement AS
WITH base AS (
    SELECT t.tweet_id, t.author_id, t.created_at, t.date_key, t.tweet_type,
           m.collected_at AS metrics_collected_at,
           m.like_count, m.retweet_count, m.reply_count, m.quote_count, m.impression_count, m.bookmark_count,
           coalesce(m.like_count, 0) + coalesce(m.retweet_count, 0) + coalesce(m.reply_count, 0)
               + coalesce(m.quote_count, 0) AS engagement,
           coalesce(t.date_key, to_char(t.created_at AT TIME ZONE 'UTC', 'YYYYMMDD')::integer) AS day_key
    FROM fact_tweet AS t
    LEFT JOIN v_tweet_latest_metrics AS m ON m.tweet_id = t.tweet_id
),
asof AS (
    SELECT b.*, coalesce(before.date_key, after.date_key) AS followers_date_key,
           coalesce(before.followers_count, after.followers_count) AS followers
    FROM base AS b
    LEFT JOIN LATERAL (
        SELECT f.date_key, f.followers_count FROM fact_user_daily AS f
        WHERE f.user_id = b.author_id AND f.date_key <= b.day_key AND f.followers_count IS NOT NULL
        ORDER BY f.date_key DESC LIMIT 1
    ) AS before ON true
    LEFT JOIN LATERAL (
        SELECT f.date_key, f.followers_count FROM fact_user_daily AS f
        WHERE f.user_id = b.author_id AND f.date_key > b.day_key AND f.followers_count IS NOT NULL
        ORDER BY f.date_key ASC LIMIT 1
    ) AS after ON before.date_key IS NULL
)
SELECT a.tweet_id, a.author_id, a.created_at, a.date_key, a.tweet_type, a.metrics_collected_at,
       a.like_count, a.retweet_count, a.reply_count, a.quote_count, a.engagement,
       a.followers AS author_followers,
       a.engagement::numeric / nullif(a.followers, 0) AS engagement_per_follower,
       a.followers_date_key,
       to_date(a.followers_date_key::text, 'YYYYMMDD') - to_date(a.day_key::text, 'YYYYMMDD')
           AS followers_days_from_tweet,
       a.impression_count, a.bookmark_count,
       a.engagement::numeric / nullif(a.impression_count, 0) AS engagement_rate
FROM asof AS a;

-- Engagement rate by account and tweet type: sums, so that any roll-up (all accounts, all types)
-- is a sum of sums. engagement_rate = engagement / impressions over the tweets with impressions.
CREATE VIEW v_engagement_by_type AS
SELECT e.author_id, u.username, e.tweet_type,
       count(*) AS tweets,
       count(e.metrics_collected_at) AS tweets_with_metrics,
       sum(e.engagement) FILTER (WHERE e.metrics_collected_at IS NOT NULL) AS engagement,
       sum(e.impression_count) AS impressions,
       sum(e.engagement) FILTER (WHERE e.impression_count > 0)::numeric
           / nullif(sum(e.impression_count) FILTER (WHERE e.impression_count > 0), 0) AS engagement_rate,
       avg(e.engagement) FILTER (WHERE e.metrics_collected_at IS NOT NULL) AS avg_engagement,
       avg(e.engagement_per_follower) AS avg_engagement_per_follower
FROM v_tweet_engagement AS e
LEFT JOIN dim_user AS u ON u.user_id = e.author_id AND u.is_current
GROUP BY e.author_id, u.username, e.tweet_type;

-- Posting activity: tweets per account, ISO weekday (Monday = 1) and hour of day, UTC; every
-- weekday × hour cell of an account that posted at all, zeros included (a heatmap's grid).
CREATE VIEW v_posting_activity AS
WITH authors AS (
    SELECT DISTINCT author_id FROM fact_tweet WHERE author_id IS NOT NULL AND created_at IS NOT NULL
), counts AS (
    SELECT author_id,
           extract(isodow FROM created_at AT TIME ZONE 'UTC')::smallint AS weekday,
           extract(hour FROM created_at AT TIME ZONE 'UTC')::smallint AS hour_utc,
           count(*) AS tweets,
           count(*) FILTER (WHERE tweet_type <> 'retweet') AS own_tweets
    FROM fact_tweet
    WHERE author_id IS NOT NULL AND created_at IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT a.author_id, u.username, wd.weekday::smallint AS weekday,
       (ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])[wd.weekday] AS weekday_name,
       h.hour_utc::smallint AS hour_utc,
       coalesce(c.tweets, 0) AS tweets, coalesce(c.own_tweets, 0) AS own_tweets
FROM authors AS a
CROSS JOIN generate_series(1, 7) AS wd(weekday)
CROSS JOIN generate_series(0, 23) AS h(hour_utc)
LEFT JOIN counts AS c ON c.author_id = a.author_id AND c.weekday = wd.weekday AND c.hour_utc = h.hour_utc
LEFT JOIN dim_user AS u ON u.user_id = a.author_id AND u.is_current;

-- Entities per account and UTC day: hashtags (lower case, as X matches them), cashtags (upper
-- case), mentions (lower-case username) and link domains (expanded URL's host without "www.").
-- A period's top entities are a sum over its days (see the README for a top-5 query).
CREATE VIEW v_entity_daily AS
WITH entity AS (
    SELECT tweet_id, 'hashtag'::text AS entity_type, lower(tag) AS entity FROM tweet_hashtag
    UNION ALL
    SELECT tweet_id, 'cashtag', upper(tag) FROM tweet_cashtag
    UNION ALL
    SELECT tweet_id, 'mention', lower(mentioned_username) FROM tweet_mention
    UNION ALL
    SELECT tweet_id, 'domain',
           regexp_replace(lower(substring(coalesce(expanded_url, url) FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')),
                          '^www\.', '')
    FROM tweet_url
)
SELECT t.author_id, u.username, t.date_key, to_date(t.date_key::text, 'YYYYMMDD') AS day,
       e.entity_type, e.entity, count(DISTINCT t.tweet_id) AS tweets
FROM entity AS e
JOIN fact_tweet AS t ON t.tweet_id = e.tweet_id
LEFT JOIN dim_user AS u ON u.user_id = t.author_id AND u.is_current
WHERE e.entity IS NOT NULL AND e.entity <> '' AND t.date_key IS NOT NULL
GROUP BY t.author_id, u.username, t.date_key, e.entity_type, e.entity;

-- Metric growth curves: every metrics snapshot of a tweet at its hours since posting.
CREATE VIEW v_tweet_metric_curve AS
SELECT m.tweet_id, t.author_id, t.tweet_type, t.created_at, m.collected_at,
       extract(epoch FROM m.collected_at - t.created_at) / 3600.0 AS hours_since_posting,
       m.like_count, m.retweet_count, m.reply_count, m.quote_count, m.impression_count
FROM fact_tweet_metrics AS m
JOIN fact_tweet AS t ON t.tweet_id = m.tweet_id
WHERE t.created_at IS NOT NULL AND m.collected_at >= t.created_at;

-- A tweet's likes / retweets / replies / impressions at 1, 6, 24, 48 and 168 hours (7 days),
-- interpolated linearly between the two snapshots around each mark (an exact snapshot is taken
-- as it is). The posting moment counts as a snapshot of zeros only for tweets first seen within
-- 6 hours of posting; a mark not bracketed by snapshots (or whose snapshots lack the metric) has no
-- row. Retweets are left out (their counts are the original's). share_of_7d = value / the 7-day
-- value (NULL when that is 0 or unknown). One pass over the snapshots in key order: each snapshot
-- and the next one make a segment, the marks inside a segment are interpolated, and only then are
-- the four metrics unpivoted (so the work follows the snapshots, not snapshots × metrics).
CREATE VIEW v_tweet_metric_milestones AS
WITH snapshots AS (
    SELECT m.tweet_id, t.author_id,
           extract(epoch FROM m.collected_at - t.created_at) / 3600.0 AS h,
           m.like_count, m.retweet_count, m.reply_count, m.impression_count,
           lead(m.collected_at) OVER w AS next_at,
           lead(m.like_count) OVER w AS next_like, lead(m.retweet_count) OVER w AS next_retweet,
           lead(m.reply_count) OVER w AS next_reply, lead(m.impression_count) OVER w AS next_impression,
           row_number() OVER w AS n,
           t.created_at
    FROM fact_tweet_metrics AS m
    JOIN fact_tweet AS t ON t.tweet_id = m.tweet_id
    WHERE t.created_at IS NOT NULL AND m.collected_at >= t.created_at AND t.tweet_type <> 'retweet'
    WINDOW w AS (PARTITION BY m.tweet_id ORDER BY m.collected_at)
), segments AS (
    -- the segment from each snapshot to the next (h1 NULL after the last), and for a tweet first
    -- seen within 6 hours, the segment from the posting moment (all zeros) to its first snapshot
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
), known AS (
    SELECT k.*, max(k.value) FILTER (WHERE k.hours = 168) OVER (PARTITION BY k.tweet_id, k.metric) AS value_7d
    FROM marks AS k
    WHERE k.value IS NOT NULL
)
SELECT tweet_id, author_id, metric, hours, value, value_7d, value / nullif(value_7d, 0) AS share_of_7d
FROM known;

-- Per account and metric: the median share of the 7-day value a tweet has reached after 1, 6, 24
-- and 48 hours, over the tweets whose marks are known (tweets says how many).
CREATE VIEW v_metric_growth_share AS
SELECT k.author_id, u.username, k.metric, k.hours,
       count(*) AS tweets,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY k.share_of_7d) AS median_share_of_7d
FROM v_tweet_metric_milestones AS k
LEFT JOIN dim_user AS u ON u.user_id = k.author_id AND u.is_current
WHERE k.hours < 168 AND k.share_of_7d IS NOT NULL
GROUP BY k.author_id, u.username, k.metric, k.hours;

-- Sentiment per account and UTC day (tweets the tweets job scored: English, not retweets).
CREATE VIEW v_sentiment_daily AS
SELECT t.author_id, u.username, t.date_key, to_date(t.date_key::text, 'YYYYMMDD') AS day,
       count(*) AS tweets_scored,
       avg(t.sentiment_compound) AS avg_compound,
       count(*) FILTER (WHERE t.sentiment_label = 'positive') AS positive,
       count(*) FILTER (WHERE t.sentiment_label = 'neutral') AS neutral,
       count(*) FILTER (WHERE t.sentiment_label = 'negative') AS negative
FROM fact_tweet AS t
LEFT JOIN dim_user AS u ON u.user_id = t.author_id AND u.is_current
WHERE t.sentiment_compound IS NOT NULL AND t.date_key IS NOT NULL
GROUP BY t.author_id, u.username, t.date_key;
