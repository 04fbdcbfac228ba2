-- "Deleted" means deleted: a tweet is deleted only when the API answered "Not Found" for it on
-- collections at least a day apart, with no data of the tweet collected after the first of them.
-- One flaky answer used to mark a tweet deleted for good.
--
-- tweet_deletion keeps every detection (one row per Not Found answer's collection time), so the
-- rule can be evaluated whatever the order the tweets and tweet_metrics jobs load their files in.
ALTER TABLE tweet_deletion DROP CONSTRAINT tweet_deletion_pkey;
ALTER TABLE tweet_deletion ADD PRIMARY KEY (tweet_id, detected_at);

COMMENT ON TABLE tweet_deletion IS
    'Every "Not Found" answer of a tweet lookup. A tweet is deleted (fact_tweet.is_deleted) when two'
    ' answers at least a day apart came after the last collection that returned the tweet.';

-- The evidence of one tweet, as the rule reads it.
CREATE VIEW v_tweet_deletion_evidence AS
SELECT f.tweet_id,
       greatest(f.last_collected_at, m.last_seen)                AS last_seen_at,
       min(d.detected_at)                                        AS first_not_found_at,
       max(d.detected_at)                                        AS last_not_found_at,
       count(d.detected_at)                                      AS not_found_answers,
       coalesce(max(d.detected_at) - min(d.detected_at) >= interval '1 day', false) AS is_deleted
FROM fact_tweet f
LEFT JOIN LATERAL (SELECT max(collected_at) AS last_seen FROM fact_tweet_metrics x WHERE x.tweet_id = f.tweet_id) m
       ON true
LEFT JOIN tweet_deletion d
       ON d.tweet_id = f.tweet_id AND d.detected_at > greatest(f.last_collected_at, m.last_seen)
GROUP BY f.tweet_id, f.last_collected_at, m.last_seen;

-- Tweets marked deleted by a single answer (the old rule) are re-judged by the new one.
UPDATE fact_tweet f SET is_deleted = e.is_deleted
FROM v_tweet_deletion_evidence e
WHERE e.tweet_id = f.tweet_id AND f.is_deleted IS DISTINCT FROM e.is_deleted;
