-- tweetlake warehouse, version 12: v_tweet_deletion_evidence reads one tweet's evidence through its
-- primary keys (same columns, same rule as version 4), so that a filter on tweet_id reaches
-- fact_tweet: version 4 grouped the whole view, and the merges' judgement of the tweets a load
-- touched evaluated every tweet in the warehouse (bench/merge_bench.py: 9.6 s of a million-tweet
-- first load, for tweets none of which was ever missing).
CREATE OR REPLACE VIEW v_tweet_deletion_evidence AS
SELECT f.tweet_id,
       greatest(f.last_collected_at, m.last_seen)                                    AS last_seen_at,
       d.first_not_found_at,
       d.last_not_found_at,
       d.not_found_answers,
       coalesce(d.last_not_found_at - d.first_not_found_at >= interval '1 day', false) AS is_deleted
FROM fact_tweet f
LEFT JOIN LATERAL (SELECT max(collected_at) AS last_seen FROM fact_tweet_metrics x WHERE x.tweet_id = f.tweet_id) m
       ON true
CROSS JOIN LATERAL (SELECT min(n.detected_at) AS first_not_found_at, max(n.detected_at) AS last_not_found_at,
                           count(n.detected_at) AS not_found_answers
                    FROM tweet_deletion n
                    WHERE n.tweet_id = f.tweet_id AND n.detected_at > greatest(f.last_collected_at, m.last_seen)) d;

-- The tweets marked deleted, for the merges to judge again (few; none in most warehouses).
CREATE INDEX fact_tweet_deleted ON fact_tweet (tweet_id) WHERE is_deleted;
