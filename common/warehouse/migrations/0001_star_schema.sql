-- tweetlake warehouse, version 1: the star schema, the ETL ledger and the views.
-- Runs with search_path set to the target schema (see common/warehouse/migrate.py), so names are
-- unqualified and one file serves any schema name.

CREATE TABLE dim_date (
    date_key      integer  PRIMARY KEY,                -- YYYYMMDD
    full_date     date     NOT NULL UNIQUE,
    year          smallint NOT NULL,
    quarter       smallint NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    month         smallint NOT NULL CHECK (month BETWEEN 1 AND 12),
    month_name    text     NOT NULL,
    day           smallint NOT NULL CHECK (day BETWEEN 1 AND 31),
    day_of_week   smallint NOT NULL CHECK (day_of_week BETWEEN 1 AND 7),  -- ISO: Monday = 1
    day_name      text     NOT NULL,
    week_of_year  smallint NOT NULL,                   -- ISO week
    is_weekend    boolean  NOT NULL
);

-- Fills dim_date for [from_date, to_date]; existing days are left alone, so it is idempotent.
CREATE FUNCTION ensure_dim_date(from_date date, to_date date) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    INSERT INTO dim_date (date_key, full_date, year, quarter, month, month_name, day, day_of_week,
                          day_name, week_of_year, is_weekend)
    SELECT to_char(d, 'YYYYMMDD')::integer, d::date,
           extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
           trim(to_char(d, 'FMMonth')), extract(day FROM d), extract(isodow FROM d),
           trim(to_char(d, 'FMDay')), extract(week FROM d), extract(isodow FROM d) IN (6, 7)
    FROM generate_series(from_date::timestamp, to_date::timestamp, interval '1 day') AS g(d)
    WHERE from_date IS NOT NULL AND to_date IS NOT NULL
    ON CONFLICT (date_key) DO NOTHING
$$;

-- Every profile snapshot the users job has loaded: the exact input from which dim_user's SCD2
-- history is recomputed, so a late or out-of-order file still yields the right history.
CREATE TABLE user_profile_snapshot (
    user_id             bigint      NOT NULL,
    collected_at        timestamptz NOT NULL,
    username            text,
    name                text,
    description         text,
    location            text,
    url                 text,
    profile_image_url   text,
    verified            boolean,
    verified_type       text,
    protected           boolean,
    account_created_at  timestamptz,
    PRIMARY KEY (user_id, collected_at)
);

CREATE TABLE dim_user (
    user_key            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint      NOT NULL,
    username            text,
    name                text,
    description         text,
    location            text,
    url                 text,
    profile_image_url   text,
    verified            boolean,
    verified_type       text,
    protected           boolean,
    account_created_at  timestamptz,
    valid_from          timestamptz NOT NULL,
    valid_to            timestamptz,                   -- NULL while current
    is_current          boolean     NOT NULL,
    CONSTRAINT dim_user_user_id_valid_from_key UNIQUE (user_id, valid_from),
    CONSTRAINT dim_user_valid_range CHECK (valid_to IS NULL OR valid_to > valid_from),
    CONSTRAINT dim_user_current_is_open CHECK (is_current = (valid_to IS NULL))
);
CREATE UNIQUE INDEX dim_user_one_current ON dim_user (user_id) WHERE is_current;
CREATE INDEX dim_user_username ON dim_user (lower(username)) WHERE is_current;

CREATE TABLE fact_user_daily (
    user_id          bigint      NOT NULL,
    date_key         integer     NOT NULL REFERENCES dim_date (date_key),
    followers_count  bigint,
    following_count  bigint,
    tweet_count      bigint,
    listed_count     bigint,
    like_count       bigint,
    collected_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, date_key)
);
CREATE INDEX fact_user_daily_date ON fact_user_daily (date_key);

CREATE TABLE fact_tweet (
    tweet_id             bigint      PRIMARY KEY,
    author_id            bigint,
    created_at           timestamptz,
    date_key             integer     REFERENCES dim_date (date_key),
    conversation_id      bigint,
    in_reply_to_user_id  bigint,
    lang                 text,
    text                 text,
    tweet_type           text        NOT NULL CHECK (tweet_type IN ('original', 'reply', 'quote', 'retweet')),
    possibly_sensitive   boolean,
    source               text,
    edit_of_tweet_id     bigint,     -- the latest version, on an earlier version of an edited tweet
    is_deleted           boolean     NOT NULL DEFAULT false,
    first_collected_at   timestamptz NOT NULL,
    last_collected_at    timestamptz NOT NULL
);
CREATE INDEX fact_tweet_author_created ON fact_tweet (author_id, created_at);
CREATE INDEX fact_tweet_date ON fact_tweet (date_key);
CREATE INDEX fact_tweet_conversation ON fact_tweet (conversation_id);
CREATE INDEX fact_tweet_edit_of ON fact_tweet (edit_of_tweet_id) WHERE edit_of_tweet_id IS NOT NULL;

-- Earlier version → latest version, from edit_history_tweet_ids (kept apart from fact_tweet so a
-- version collected after the newer one learns its link whatever the order of files and jobs).
CREATE TABLE tweet_edit_link (
    tweet_id         bigint PRIMARY KEY,
    latest_tweet_id  bigint NOT NULL
);

-- Tweets the API reported deleted (tweet_metrics errors). Both the tweets and the tweet_metrics
-- jobs consult it, so fact_tweet.is_deleted is right whichever job runs first.
CREATE TABLE tweet_deletion (
    tweet_id     bigint      PRIMARY KEY,
    detected_at  timestamptz NOT NULL,
    title        text,
    detail       text
);

CREATE TABLE tweet_hashtag (
    tweet_id  bigint NOT NULL REFERENCES fact_tweet (tweet_id) ON DELETE CASCADE,
    tag       text   NOT NULL,
    PRIMARY KEY (tweet_id, tag)
);
CREATE INDEX tweet_hashtag_tag ON tweet_hashtag (lower(tag));

CREATE TABLE tweet_cashtag (
    tweet_id  bigint NOT NULL REFERENCES fact_tweet (tweet_id) ON DELETE CASCADE,
    tag       text   NOT NULL,
    PRIMARY KEY (tweet_id, tag)
);
CREATE INDEX tweet_cashtag_tag ON tweet_cashtag (upper(tag));

CREATE TABLE tweet_mention (
    tweet_id            bigint NOT NULL REFERENCES fact_tweet (tweet_id) ON DELETE CASCADE,
    mentioned_user_id   bigint,
    mentioned_username  text   NOT NULL,
    PRIMARY KEY (tweet_id, mentioned_username)
);
CREATE INDEX tweet_mention_user ON tweet_mention (mentioned_user_id);

CREATE TABLE tweet_url (
    tweet_id      bigint NOT NULL REFERENCES fact_tweet (tweet_id) ON DELETE CASCADE,
    url           text   NOT NULL,
    expanded_url  text,
    display_url   text,
    PRIMARY KEY (tweet_id, url)
);

CREATE TABLE tweet_reference (
    tweet_id             bigint NOT NULL REFERENCES fact_tweet (tweet_id) ON DELETE CASCADE,
    referenced_tweet_id  bigint NOT NULL,
    reference_type       text   NOT NULL CHECK (reference_type IN ('replied_to', 'quoted', 'retweeted')),
    PRIMARY KEY (tweet_id, referenced_tweet_id, reference_type)
);
CREATE INDEX tweet_reference_referenced ON tweet_reference (referenced_tweet_id);

-- No foreign key to fact_tweet: the tweet_metrics job may run before the tweets job.
CREATE TABLE fact_tweet_metrics (
    tweet_id          bigint      NOT NULL,
    collected_at      timestamptz NOT NULL,
    date_key          integer     NOT NULL REFERENCES dim_date (date_key),
    like_count        bigint,
    retweet_count     bigint,
    reply_count       bigint,
    quote_count       bigint,
    bookmark_count    bigint,
    impression_count  bigint,
    PRIMARY KEY (tweet_id, collected_at)
);
CREATE INDEX fact_tweet_metrics_date ON fact_tweet_metrics (date_key);

CREATE TABLE etl_file_ledger (
    dataset           text        NOT NULL,
    path              text        NOT NULL,            -- lake key: raw/<dataset>/dt=…/<file>
    dt                date        NOT NULL,
    size_bytes        bigint      NOT NULL,
    rows_loaded       bigint      NOT NULL,
    rows_quarantined  bigint      NOT NULL,
    run_id            text        NOT NULL,
    loaded_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, path)
);
CREATE INDEX etl_file_ledger_dt ON etl_file_ledger (dataset, dt);

CREATE TABLE etl_run (
    run_id            text        PRIMARY KEY,
    dataset           text        NOT NULL,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL DEFAULT now(),
    files             integer     NOT NULL,
    rows_loaded       bigint      NOT NULL,
    rows_quarantined  bigint      NOT NULL,
    full_refresh      boolean     NOT NULL
);

CREATE VIEW v_user_current AS
SELECT user_key, user_id, username, name, description, location, url, profile_image_url, verified,
       verified_type, protected, account_created_at, valid_from
FROM dim_user
WHERE is_current;

CREATE VIEW v_tweet_latest_metrics AS
SELECT DISTINCT ON (tweet_id)
       tweet_id, collected_at, date_key, like_count, retweet_count, reply_count, quote_count,
       bookmark_count, impression_count
FROM fact_tweet_metrics
ORDER BY tweet_id, collected_at DESC;

CREATE VIEW v_user_growth AS
SELECT user_id, date_key, followers_count,
       lag(date_key) OVER w AS previous_date_key,
       followers_count - lag(followers_count) OVER w AS followers_change,
       following_count - lag(following_count) OVER w AS following_change,
       tweet_count - lag(tweet_count) OVER w AS tweet_count_change
FROM fact_user_daily
WINDOW w AS (PARTITION BY user_id ORDER BY date_key);

CREATE VIEW v_tweet_engagement AS
SELECT t.tweet_id, t.author_id, t.created_at, t.date_key, t.tweet_type,
       m.collected_at AS metrics_collected_at,
       m.like_count, m.retweet_count, m.reply_count, m.quote_count,
       coalesce(m.like_count, 0) + coalesce(m.retweet_count, 0) + coalesce(m.reply_count, 0)
           + coalesce(m.quote_count, 0) AS engagement,
       u.followers_count AS author_followers,
       (coalesce(m.like_count, 0) + coalesce(m.retweet_count, 0) + coalesce(m.reply_count, 0)
           + coalesce(m.quote_count, 0))::numeric / nullif(u.followers_count, 0) AS engagement_per_follower
FROM fact_tweet AS t
LEFT JOIN v_tweet_latest_metrics AS m ON m.tweet_id = t.tweet_id
LEFT JOIN fact_user_daily AS u ON u.user_id = t.author_id AND u.date_key = t.date_key;
