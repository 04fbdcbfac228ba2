"""Sentiment in the tweets job: VADER through a pandas UDF, on known examples, and the job with it.

The expected labels are what the text means to a reader (and VADER's published behaviour: emoji,
negation, "!!!"); no score is read back from the code under test to build an expectation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from common.lake import Lake
from glue_jobs.options import JobOptions
from glue_jobs.runner import run_job
from glue_jobs.transforms import sentiment as se
from glue_jobs.transforms import tweets as tw
from tests.glue.glue_helpers import query, table_fingerprint, tweet, write_raw
from tests.glue.test_transforms import parsed

pytestmark = pytest.mark.slow  # real Spark

RETWEET = [{"type": "retweeted", "id": "5"}]
EXAMPLES: list[tuple[dict[str, Any], str | None]] = [
    (tweet("1", text="I love this new telescope, the images are beautiful!"), "positive"),
    (tweet("2", text="This launch delay is terrible and the update was awful."), "negative"),
    (tweet("3", text="The briefing starts at 14:00 UTC in room 3."), "neutral"),
    (tweet("4", text="Liftoff 🚀😍"), "positive"),  # emoji carry the sentiment
    (tweet("5", text="The new rover is good"), "positive"),
    (tweet("6", text="The new rover is not good"), "negative"),  # negation flips it
    # a long post: the cut text says nothing, the note_tweet's full text is glowing
    (
        tweet(
            "7",
            text="Thread on the mission, read on…",
            note_tweet={
                "text": "Thread on the mission, read on. What a wonderful, amazing, brilliant success "
                "for the whole team. We are so proud and happy!"
            },
        ),
        "positive",
    ),
    (tweet("8", text="C'est une journée magnifique et merveilleuse", lang="fr"), None),  # not English
    (tweet("9", text="RT @bob: I love this so much, wonderful!", referenced_tweets=RETWEET), None),  # a retweet
    (tweet("10", text="I love it", lang=None), None),  # no language: not scored
]


def test_known_examples(spark: Any) -> None:
    records = [{"data": data} for data, _ in EXAMPLES]
    rows_df = parsed(spark, records).transform(tw.with_tweet_keys).transform(tw.tweet_rows)
    got = {
        r["tweet_id"]: (r["sentiment_compound"], r["sentiment_label"])
        for r in rows_df.select("tweet_id", "sentiment_compound", "sentiment_label").collect()
    }
    for data, label in EXAMPLES:
        compound, got_label = got[int(data["id"])]
        assert got_label == label, (data["text"], compound)
        if label is None:
            assert compound is None
        else:
            assert -1 <= compound <= 1
            assert (compound >= 0.05) == (label == "positive") and (compound <= -0.05) == (label == "negative")
    assert got[1][0] > 0.5 and got[2][0] < -0.5  # strongly so, not just over the line
    assert got[7][0] > 0.9  # the full text, not "Thread on the mission, read on…" (0.0)


def test_scores_in_batches_each_distinct_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    seen: list[str] = []
    real = se._scorer()

    class Counting:
        def compound(self, text: str) -> float:
            seen.append(text)
            return float(real.compound(text))

    monkeypatch.setattr(se, "_scorer", lambda: Counting())
    out = se.compound_scores(pd.Series(["good", None, "good", "bad", None]))
    assert sorted(seen) == ["bad", "good"]
    assert out.isna().tolist() == [False, True, False, False, True]
    assert out[0] == out[2] > 0 > out[3]


def test_the_tweets_job_scores_and_stays_idempotent(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    write_raw(lake, "tweets", when, [{"collected_at": when, "data": data} for data, _ in EXAMPLES])
    run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema), spark)
    labels = dict(query(pg_url, f"SELECT tweet_id, sentiment_label FROM {schema}.fact_tweet"))
    assert labels == {int(data["id"]): label for data, label in EXAMPLES}
    first = dict(query(pg_url, f"SELECT tweet_id, sentiment_compound FROM {schema}.fact_tweet"))
    before = table_fingerprint(pg_url, schema)
    again = run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema), spark)
    assert again.files == 0
    assert table_fingerprint(pg_url, schema) == before
    # a full refresh scores the same texts again, to the same values
    run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema, full_refresh=True), spark)
    assert dict(query(pg_url, f"SELECT tweet_id, sentiment_compound FROM {schema}.fact_tweet")) == first
