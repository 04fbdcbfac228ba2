-- tweetlake warehouse, version 13: a tweet's entities, each once (v_tweet_entity), and v_entity_daily
-- defined on it (same columns, same rule as version 6). Version 6 counted distinct tweets per
-- account, day and entity, a sort of every entity row by six keys; a tweet's entities made distinct
-- first are counted by a hash, and a period's top entities (the report) count them without going
-- through the days (bench/analytics_bench.py).

-- Each entity of a tweet, once: hashtags in lower case (as X matches them), cashtags upper case,
-- mentions by lower-case username, link domains (the expanded URL's host without "www.").
CREATE VIEW v_tweet_entity AS
SELECT DISTINCT e.tweet_id, e.entity_type, e.entity
FROM (
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
) AS e
WHERE e.entity IS NOT NULL AND e.entity <> '';

CREATE OR REPLACE VIEW v_entity_daily AS
SELECT t.author_id, u.username, t.date_key, to_date(t.date_key::text, 'YYYYMMDD') AS day,
       e.entity_type, e.entity, count(*) AS tweets
FROM v_tweet_entity AS e
JOIN fact_tweet AS t ON t.tweet_id = e.tweet_id
LEFT JOIN dim_user AS u ON u.user_id = t.author_id AND u.is_current
WHERE t.date_key IS NOT NULL
GROUP BY t.author_id, u.username, t.date_key, e.entity_type, e.entity;
