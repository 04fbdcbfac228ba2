-- tweetlake warehouse, version 5: a sentiment score on every English tweet.
-- The tweets job scores the full text (a long post's note_tweet text) with VADER, a lexicon model
-- built for social media, and stages the score with the tweet's other attributes, so it follows the
-- winning record like the text it was computed from. NULL for other languages (the lexicon is
-- English) and for retweets (their text is cut; the original tweet carries the score). Tweets
-- loaded before this version stay NULL until `tweetlake job tweets --full-refresh` loads them again.

ALTER TABLE fact_tweet
    ADD COLUMN sentiment_compound double precision
        CONSTRAINT fact_tweet_sentiment_range CHECK (sentiment_compound BETWEEN -1 AND 1),
    ADD COLUMN sentiment_label text
        CONSTRAINT fact_tweet_sentiment_label CHECK (sentiment_label IN ('positive', 'neutral', 'negative')),
    ADD CONSTRAINT fact_tweet_sentiment_both CHECK ((sentiment_compound IS NULL) = (sentiment_label IS NULL));

COMMENT ON COLUMN fact_tweet.sentiment_compound IS
    'VADER compound score of the full text, -1 (most negative) to 1 (most positive); NULL unless lang = en and not a retweet';
COMMENT ON COLUMN fact_tweet.sentiment_label IS
    'positive (compound >= 0.05), negative (<= -0.05), else neutral: VADER''s own thresholds';
