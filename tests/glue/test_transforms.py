"""The pure transforms, on small inline frames with NULLs and edge cases (chispa)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

import pyspark.sql.functions as F
import pyspark.sql.types as T
import pytest
from chispa import assert_df_equality

from glue_jobs.transforms import raw
from glue_jobs.transforms import tweets as tw
from glue_jobs.transforms import users as us
from tests.glue.glue_helpers import envelope, source_hash, tweet, user

pytestmark = pytest.mark.slow  # real Spark

SRC = "file:///lake/raw/tweets/dt=2026-11-20/20261120T100000Z-abcdef-00000.jsonl.gz"
KEY = "raw/tweets/dt=2026-11-20/20261120T100000Z-abcdef-00000.jsonl.gz"
T0 = "2026-11-20T10:00:00Z"
TS0 = datetime(2026, 11, 20, 10, 0, 0)


def lines_df(spark: Any, lines: list[str]) -> Any:
    return raw.lines_of_text(spark.createDataFrame([(line, SRC) for line in lines], "value string, source_uri string"))


def parsed(spark: Any, records: list[dict[str, Any]], schema: T.StructType = tw.TWEET_SCHEMA) -> Any:
    lines = [envelope(r.get("collected_at", T0), data=r.get("data"), error=r.get("error")) for r in records]
    return raw.parse_raw_lines(lines_df(spark, lines), schema)


def test_parse_quarantines_bad_lines_with_reasons(spark: Any) -> None:
    lines = [
        envelope(T0, data={"id": "1", "text": "ok"}),
        "{not json",
        "",
        "   ",
        envelope(T0, data={"text": "no id"}),
        envelope(T0, data={"id": "", "text": "empty id"}),
        envelope(T0, data={"id": "12ab", "text": "bad id"}),
        json.dumps({"collected_at": T0, "run_id": "r"}),
        envelope("yesterday", data={"id": "2"}),
        envelope(T0, error={"title": "Not Found Error", "resource_type": "tweet", "resource_id": "3"}),
        "[1, 2]",
    ]
    out = raw.parse_raw_lines(lines_df(spark, lines), tw.TWEET_SCHEMA).select(
        "source_file", "quarantine_reason", "line"
    )
    expected = spark.createDataFrame(
        [
            (KEY, None, None),
            (KEY, raw.REASON_MALFORMED, "{not json"),
            (KEY, raw.REASON_NO_ID, lines[4]),
            (KEY, raw.REASON_NO_ID, lines[5]),
            (KEY, raw.REASON_BAD_ID, lines[6]),
            (KEY, raw.REASON_NO_PAYLOAD, lines[7]),
            (KEY, raw.REASON_BAD_COLLECTED_AT, lines[8]),
            (KEY, None, None),
            (KEY, raw.REASON_MALFORMED, "[1, 2]"),
        ],
        "source_file string, quarantine_reason string, line string",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


MAX_ID = "9223372036854775807"
TOO_BIG_ID = "9223372036854775808"  # 19 digits like a real id, but one above bigint's maximum


def test_ids_that_do_not_fit_64_bits_are_quarantined(spark: Any) -> None:
    tweet_lines = [
        envelope(T0, data={"id": MAX_ID, "author_id": MAX_ID}),
        envelope(T0, data={"id": TOO_BIG_ID}),
        envelope(T0, data={"id": "1", "author_id": TOO_BIG_ID}),
        envelope(T0, data={"id": "2", "author_id": "bob"}),
        envelope(T0, data={"id": "3"}),  # a tweet object may come without its author
    ]
    user_lines = [
        envelope(T0, data={"id": MAX_ID, "username": "max"}),
        envelope(T0, data={"id": TOO_BIG_ID, "username": "big"}),
        envelope(T0, data={"id": "4", "username": "u", "author_id": "bob"}),  # not a field of a user
    ]
    schema = "quarantine_reason string, line string"
    tweets_out = raw.parse_raw_lines(lines_df(spark, tweet_lines), tw.TWEET_SCHEMA).select("quarantine_reason", "line")
    expected_tweets = spark.createDataFrame(
        [
            (None, None),
            ("id is not a 64-bit integer", tweet_lines[1]),
            ("author_id is not a 64-bit integer", tweet_lines[2]),
            ("author_id is not a 64-bit integer", tweet_lines[3]),
            (None, None),
        ],
        schema,
    )
    assert_df_equality(tweets_out, expected_tweets, ignore_row_order=True, ignore_nullable=True)
    users_parsed = raw.parse_raw_lines(lines_df(spark, user_lines), us.USER_SCHEMA)
    expected_users = spark.createDataFrame(
        [(None, None), ("id is not a 64-bit integer", user_lines[1]), (None, None)], schema
    )
    assert_df_equality(
        users_parsed.select("quarantine_reason", "line"), expected_users, ignore_row_order=True, ignore_nullable=True
    )
    user_ids = users_parsed.transform(us.user_snapshots).select("user_id")
    assert_df_equality(
        user_ids,
        spark.createDataFrame([(int(MAX_ID),), (4,)], "user_id long"),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_quarantined_lines_name_one_folder_per_source_file(spark: Any) -> None:
    other_src = SRC.replace("dt=2026-11-20/20261120T100000Z", "dt=2026-11-21/20261121T100000Z")
    other_key = KEY.replace("dt=2026-11-20/20261120T100000Z", "dt=2026-11-21/20261121T100000Z")
    lines = spark.createDataFrame(
        [("{oops", SRC), (envelope(T0, data={"id": "1"}), SRC), ('{"data": {}}', other_src)],
        "value string, source_uri string",
    )
    out = raw.quarantined_lines(raw.parse_raw_lines(raw.lines_of_text(lines), tw.TWEET_SCHEMA))
    expected = spark.createDataFrame(
        [
            (KEY, raw.REASON_MALFORMED, "{oops", "2026-11-20", source_hash(KEY)),
            (
                other_key,
                raw.REASON_NO_ID,
                '{"data": {}}',
                "2026-11-21",
                source_hash(other_key),
            ),
        ],
        "source_file string, reason string, line string, dt string, source_hash string",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


OTHER_KEY = KEY.replace("-00000.", "-00001.")


def test_file_counts(spark: Any) -> None:
    lines = [envelope(T0, data={"id": "1"}), "oops", envelope(T0, error={"title": "Forbidden"})]
    verdict = spark.createDataFrame(  # a damaged file's verdict row, as the jobs' reader gives it
        [(OTHER_KEY, -1, None, "truncated gzip")],
        "source_file string, line_order long, value string, file_reason string",
    )
    lines_in = lines_df(spark, lines).withColumn("file_reason", F.lit(None).cast("string")).unionByName(verdict)
    out = raw.file_counts(raw.parse_raw_lines(lines_in, tw.TWEET_SCHEMA))
    expected = spark.createDataFrame(
        [(KEY, 1, 1, 1, None), (OTHER_KEY, 0, 0, 0, "truncated gzip")],
        "source_file string, rows_loaded long, rows_api_errors long, rows_quarantined long, file_reason string",
    )
    assert_df_equality(out, expected, ignore_nullable=True, ignore_row_order=True)


def test_drifted_types_do_not_break_parsing(spark: Any) -> None:
    records = [
        {"data": tweet("1", edit_controls={"edits_remaining": "4", "is_edit_eligible": True})},
        {
            "data": tweet(
                "2",
                edit_controls={"edits_remaining": 5, "is_edit_eligible": "true"},
                # counts as strings are still integers; 1.5 is not (quarantined: see the test below)
                public_metrics={"like_count": "7", "retweet_count": "1", "reply_count": None},
            )
        },
        {"data": tweet("3", entities={"hashtags": "not-a-list"}, unknown_new_field={"x": 1})},
    ]
    parsed_df = parsed(spark, records)
    assert parsed_df.filter("quarantine_reason is not null").count() == 0
    out = parsed_df.transform(tw.with_tweet_keys)
    metrics = out.transform(tw.metric_snapshots).select("tweet_id", "like_count", "retweet_count", "reply_count")
    expected = spark.createDataFrame(
        [(1, 3, 1, 2), (2, 7, 1, None), (3, 3, 1, 2)],
        "tweet_id long, like_count long, retweet_count long, reply_count long",
    )
    assert_df_equality(metrics, expected, ignore_row_order=True, ignore_nullable=True)


def test_tweet_rows_type_text_and_ids(spark: Any) -> None:
    records = [
        {"data": tweet("10", text="plain", conversation_id="10")},
        {"data": tweet("11", text="RT @bob: cut…", referenced_tweets=[{"type": "retweeted", "id": "5"}])},
        {
            "data": tweet(
                "12",
                text="short…",
                note_tweet={"text": "the full long text"},
                referenced_tweets=[{"type": "quoted", "id": "6"}],
            )
        },
        {"data": tweet("13", in_reply_to_user_id="77", referenced_tweets=[{"type": "replied_to", "id": "7"}])},
        {"data": tweet("14", in_reply_to_user_id="77")},
        {"data": tweet("15", referenced_tweets=[{"type": "replied_to", "id": "7"}, {"type": "quoted", "id": "8"}])},
        {"data": {"id": "16"}},
    ]
    rows_df = parsed(spark, records).transform(tw.with_tweet_keys).transform(tw.tweet_rows)
    # each row names its record: the lake key, then the line's place in the file, so keys sort as the
    # lines do (this frame spreads one "file" over several tasks: the places are not 0, 1, … here)
    by_key = rows_df.orderBy("record_key").collect()
    assert all(r["record_key"].startswith(f"{KEY}:") and len(r["record_key"]) == len(KEY) + 21 for r in by_key)
    assert [r["tweet_id"] for r in by_key] == [int(r["data"]["id"]) for r in records]
    out = rows_df.drop("record_key", "sentiment_compound", "sentiment_label")  # tests/glue/test_sentiment.py
    created = datetime(2026, 11, 20, 12, 0, 0)
    row = (42, created, 20261120)
    expected = spark.createDataFrame(
        [
            (10, *row, 10, None, "en", "plain", "original", False, None, TS0),
            (11, *row, 11, None, "en", "RT @bob: cut…", "retweet", False, None, TS0),
            (12, *row, 12, None, "en", "the full long text", "quote", False, None, TS0),
            (13, *row, 13, 77, "en", "hello", "reply", False, None, TS0),
            (14, *row, 14, 77, "en", "hello", "reply", False, None, TS0),
            (15, *row, 15, None, "en", "hello", "quote", False, None, TS0),
            (16, None, None, None, None, None, None, None, "original", None, None, TS0),
        ],
        "tweet_id long, author_id long, created_at timestamp, date_key int, conversation_id long, "
        "in_reply_to_user_id long, lang string, text string, tweet_type string, possibly_sensitive boolean, "
        "source string, collected_at timestamp",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_entities_come_from_note_tweet_when_present(spark: Any) -> None:
    records = [
        {
            "data": tweet(
                "20",
                entities={"hashtags": [{"start": 0, "end": 4, "tag": "cut"}], "cashtags": [{"tag": "TSLA"}]},
                note_tweet={"text": "long #full #more", "entities": {"hashtags": [{"tag": "full"}, {"tag": "more"}]}},
            )
        },
        {
            "data": tweet(
                "21",
                entities={
                    "hashtags": [{"tag": "only"}, {"tag": None}],
                    "mentions": [{"username": "bob", "id": "7"}, {"username": "nid"}],
                    "urls": [{"url": "https://t.co/x", "expanded_url": "https://x.org", "display_url": "x.org"}],
                },
            )
        },
        {"data": tweet("22")},  # no entities at all
        {"data": tweet("23", note_tweet={"text": "long, no entities"}, entities={"hashtags": [{"tag": "short"}]})},
    ]
    tweets_df = parsed(spark, records).transform(tw.with_tweet_keys)
    hashtags = tweets_df.transform(tw.explode_hashtags).select("tweet_id", "tag")
    assert_df_equality(
        hashtags,
        spark.createDataFrame([(20, "full"), (20, "more"), (21, "only"), (23, "short")], "tweet_id long, tag string"),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert tweets_df.transform(tw.explode_cashtags).count() == 0  # note_tweet entities replace entities
    mentions = tweets_df.transform(tw.explode_mentions).select("tweet_id", "mentioned_user_id", "mentioned_username")
    assert_df_equality(
        mentions,
        spark.createDataFrame(
            [(21, 7, "bob"), (21, None, "nid")], "tweet_id long, mentioned_user_id long, mentioned_username string"
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    urls = tweets_df.transform(tw.explode_urls).drop("collected_at", "record_key")
    assert_df_equality(
        urls,
        spark.createDataFrame(
            [(21, "https://t.co/x", "https://x.org", "x.org")],
            "tweet_id long, url string, expanded_url string, display_url string",
        ),
        ignore_nullable=True,
    )


def test_references_and_edit_links(spark: Any) -> None:
    records = [
        {
            "data": tweet(
                "32",
                edit_history_tweet_ids=["30", "31", "32"],
                referenced_tweets=[{"type": "quoted", "id": "9"}, {"type": "weird", "id": "8"}],
            )
        },
        {"data": tweet("40", edit_history_tweet_ids=["40"])},
        {"data": tweet("50", edit_history_tweet_ids=None)},
    ]
    tweets_df = parsed(spark, records).transform(tw.with_tweet_keys)
    refs = tweets_df.transform(tw.explode_references).drop("collected_at", "record_key")
    assert_df_equality(
        refs,
        spark.createDataFrame([(32, 9, "quoted")], "tweet_id long, referenced_tweet_id long, reference_type string"),
        ignore_nullable=True,
    )
    links = tweets_df.transform(tw.explode_edit_links)
    assert_df_equality(
        links,
        spark.createDataFrame([(30, 32), (31, 32)], "tweet_id long, latest_tweet_id long"),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_deleted_tweets_only_from_not_found_tweet_errors(spark: Any) -> None:
    records = [
        {
            "error": {
                "value": "61",
                "detail": "Could not find tweet with ids: [61].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": "61",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        },
        {"error": {"value": "62", "title": "Authorization Error", "resource_type": "tweet", "resource_id": "62"}},
        {"error": {"value": "alice", "title": "Not Found Error", "resource_type": "user", "resource_id": "alice"}},
        {"data": tweet("63")},
    ]
    out = parsed(spark, records).transform(tw.deleted_tweets)
    expected = spark.createDataFrame(
        [(61, TS0, "Not Found Error", "Could not find tweet with ids: [61].")],
        "tweet_id long, detected_at timestamp, title string, detail string",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_user_snapshots(spark: Any) -> None:
    records = [
        {"data": user("42", "alice")},
        {"data": {"id": "43", "username": "bare", "name": "Bare"}},
        {"data": user("44", "drift", verified="true", public_metrics={"followers_count": "12"})},
        {
            "error": {
                "title": "Forbidden",
                "resource_type": "user",
                "value": "gone",
                "detail": "User has been suspended",
            }
        },
    ]
    out = parsed(spark, records, us.USER_SCHEMA).transform(us.user_snapshots)
    created = datetime(2015, 3, 1, 10, 0, 0)
    expected = spark.createDataFrame(
        [
            (
                42,
                TS0,
                20261120,
                "alice",
                "Alice",
                "I am alice",
                "Earth",
                "https://t.co/alice",
                "https://pbs.twimg.com/alice.jpg",
                False,
                "none",
                False,
                created,
                100,
                10,
                1000,
                1,
                7,
            ),
            (
                43,
                TS0,
                20261120,
                "bare",
                "Bare",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ),
            (
                44,
                TS0,
                20261120,
                "drift",
                "Drift",
                "I am drift",
                "Earth",
                "https://t.co/drift",
                "https://pbs.twimg.com/drift.jpg",
                True,
                "none",
                False,
                created,
                12,
                None,
                None,
                None,
                None,
            ),
        ],
        "user_id long, collected_at timestamp, date_key int, username string, name string, description string, "
        "location string, url string, profile_image_url string, verified boolean, verified_type string, "
        "protected boolean, account_created_at timestamp, followers_count long, following_count long, "
        "tweet_count long, listed_count long, like_count long",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_to_id(spark: Any) -> None:
    cases = [
        ("1800000000000000001", 1800000000000000001),
        (" 7 ", 7),
        ("-1", None),
        ("99999999999999999999", None),
        ("abc", None),
        ("", None),
        (None, None),
    ]
    df = spark.createDataFrame([(i, v) for i, (v, _) in enumerate(cases)], "i int, v string")
    out = df.select("i", raw.to_id(df["v"]).alias("id"))
    expected = spark.createDataFrame([(i, e) for i, (_, e) in enumerate(cases)], "i int, id long")
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_lines_that_would_load_altered_are_quarantined_instead(spark: Any) -> None:
    """A lone surrogate would land as "?"; counts that are not integers would land as NULL."""

    def with_metrics(tweet_id: str, metrics: Any) -> str:
        return envelope(T0, data=tweet(tweet_id, public_metrics=metrics))

    counts = {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 4}
    lines = [
        envelope(T0, data=tweet("1", text="a pair is fine: \U0001f600")),  # json.dumps writes \ud83d\ude00
        envelope(T0, data=tweet("2", text="half a pair: \ud800")),
        envelope(T0, data=tweet("3", text="the other half: \udc00")),
        with_metrics("4", "lots"),
        with_metrics("5", {**counts, "retweet_count": 3.5}),
        with_metrics("6", {**counts, "like_count": True}),
        with_metrics("7", {**counts, "like_count": "12"}),  # a drifted type that still is an integer
        with_metrics("8", None),  # absent metrics are missing, not wrong
    ]
    out = raw.parse_raw_lines(lines_df(spark, lines), tw.TWEET_SCHEMA).select("data.id", "quarantine_reason")
    expected = spark.createDataFrame(
        [
            ("1", None),
            ("2", raw.REASON_LONE_SURROGATE),
            ("3", raw.REASON_LONE_SURROGATE),
            ("4", "public_metrics is not an object"),
            ("5", "public_metrics.retweet_count is not an integer"),
            ("6", "public_metrics.like_count is not an integer"),
            ("7", None),
            ("8", None),
        ],
        "id string, quarantine_reason string",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_line_that_is_not_utf8_is_quarantined_not_loaded_with_replacement_characters(
    spark: Any, tmp_path: Any
) -> None:
    part = tmp_path / "raw" / "tweets" / "dt=2026-11-20" / "20261120T100000Z-abcdef-00000.jsonl"
    part.parent.mkdir(parents=True)
    good = envelope(T0, data=tweet("1", text="caf\u00e9 \ufffd is a real character")).encode()
    bad = envelope(T0, data=tweet("2", text="caf__")).encode().replace(b"caf__", b"caf\xe9\xff")
    part.write_bytes(good + b"\n" + bad + b"\n")
    lines = spark.read.text(str(part)).withColumn("source_uri", F.input_file_name())
    out = raw.parse_raw_lines(raw.lines_of_text(lines), tw.TWEET_SCHEMA).select("quarantine_reason", "data.text")
    rows = {(r["quarantine_reason"], r["text"]) for r in out.collect()}
    assert (None, "caf\u00e9 \ufffd is a real character") in rows
    assert {reason for reason, _ in rows} == {None, raw.REASON_BAD_UTF8}


def test_line_order_is_the_place_in_the_file_whatever_else_the_run_reads(spark: Any, tmp_path: Any) -> None:
    from common.lake import Lake
    from glue_jobs.filecheck import raw_lines

    lake = Lake.from_uri(tmp_path.as_uri())
    names = {"20261120T100000Z-aaaaaa-00000": 3, "20261120T110000Z-bbbbbb-00000": 2}
    for name, count in names.items():
        lines = [envelope(T0, data=tweet(f"{name[-8]}{i}")) for i in range(count)]
        lake.put_bytes(f"raw/tweets/dt=2026-11-20/{name}.jsonl.gz", gzip.compress(("\n\n".join(lines) + "\n").encode()))
    keys = sorted(o.key for o in lake.list("raw/tweets/"))

    def orders(chosen: list[str]) -> set[tuple[str, int]]:
        out = raw.parse_raw_lines(raw_lines(spark, lake, [(k, 1) for k in chosen]), tw.TWEET_SCHEMA)
        return {(r["source_file"].rsplit("/", 1)[1].removesuffix(".jsonl.gz"), r["line_order"]) for r in out.collect()}

    both = orders(keys)
    assert both == {(n, i) for n, c in names.items() for i in range(c)}, "blank lines do not count"
    assert orders(keys[1:]) == {x for x in both if x[0].endswith("bbbbbb-00000")}, "the same places in another run"


def test_the_jobs_reader_splits_and_numbers_lines_as_sparks_text_reader_does(spark: Any, tmp_path: Any) -> None:
    """The record key of a line stays what it was when Spark's text reader read the files: the
    reader of ``glue_jobs/filecheck.py`` against ``spark.read.text`` (the reference) on line breaks
    of every kind, blank lines, lines of spaces, tabs, and a last line without a break."""
    from common.lake import Lake
    from glue_jobs.filecheck import raw_lines

    lake = Lake.from_uri(tmp_path.as_uri())
    records = [envelope(T0, data=tweet(str(i))) for i in range(12)]
    body = (
        f"{records[0]}\r\n{records[1]}\n\n   \n{records[2]}\r{records[3]}\r\n\r\n\t\n"
        f"  {records[4]}  \n{records[5]}\n \t \n{records[6]}\r\r{records[7]}\n"
        + "\n".join(records[8:])  # no break after the last
    ).encode()
    keys = []
    for part, content in enumerate((body, body.replace(b"\r\n", b"\n"), b"\n".join(r.encode() for r in records))):
        key = f"raw/tweets/dt=2026-11-20/20261120T100000Z-abcdef-{part:05d}.jsonl.gz"
        lake.put_bytes(key, gzip.compress(content))
        keys.append(key)

    def numbered(lines_df: Any) -> list[tuple[str, int, str]]:
        rows = lines_df.select("source_file", "line_order", "value").collect()
        return sorted((r["source_file"], r["line_order"], r["value"]) for r in rows)

    ours = numbered(raw_lines(spark, lake, [(k, 1) for k in keys]).filter("file_reason IS NULL"))
    text_df = spark.read.text([lake.hadoop_url(k) for k in keys]).withColumn("source_uri", F.input_file_name())
    assert ours == numbered(raw.lines_of_text(text_df))
    assert len(ours) == 3 * 12 + 2 * 2  # the two lines with a tab in each of the first two files: Spark keeps them
