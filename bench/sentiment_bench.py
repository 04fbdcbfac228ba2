"""What the sentiment score adds to the tweets job, and VADER's speed in texts/s (not run in CI).

On the tweets bench's lake (``bench/run_glue_bench.py``'s generator: the same realistic raw tweets,
~37 % English non-retweets, 5 % long posts):

1. in one process, the scored texts of the first files through ``vaderSentiment``'s
   ``polarity_scores`` and through the job's ``CompoundScorer`` (``glue_jobs/transforms/vader.py``):
   texts/s of each, and whether every score is the same;
2. in Spark, the tweets job's ``fact_tweet`` output (``with_tweet_keys`` → ``tweet_rows``) written to
   the ``noop`` sink: without sentiment (the two columns NULL), with the job's pandas UDF, and with
   the same pandas UDF calling the library instead: the seconds each adds, and scored texts/s.

    .venv/bin/python bench/sentiment_bench.py [--tweets 1000000] [--files 20] [--texts 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402  (the pandas UDF's type hints)

from common.lake import Lake  # noqa: E402


def lake_for(tweets: int, files: int) -> Lake:
    import run_glue_bench as glue_bench

    root = glue_bench.OUT / f"lake-{tweets}-{files}"
    lake = Lake.from_uri(root.as_uri())
    if not (root / ".generated").exists():
        root.mkdir(parents=True, exist_ok=True)
        seconds = glue_bench.generate(lake, tweets, files, "2026-11-20", 0, "20261120T100000Z-bench0")
        (root / ".generated").touch()
        print(f"generated {tweets:,} raw tweets in {files} files in {seconds:.1f}s")
    else:
        print(f"reusing {tweets:,} raw tweets under {root}")
    return lake


def in_process(lake: Lake, limit: int) -> None:
    """Texts/s of the library and of the job's scorer on the lake's scored texts, one core."""
    import gzip
    import json

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from glue_jobs.transforms.vader import CompoundScorer

    texts: list[str] = []
    for obj in sorted(lake.list("raw/tweets/"), key=lambda o: o.key):
        with lake.open_read(obj.key) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            for line in lines:
                data = json.loads(line)["data"]
                retweet = any(r.get("type") == "retweeted" for r in data.get("referenced_tweets") or ())
                if data.get("lang") == "en" and not retweet:
                    texts.append((data.get("note_tweet") or {}).get("text") or data["text"])
        if len(texts) >= limit:
            break
    texts = texts[:limit]
    analyzer, scorer = SentimentIntensityAnalyzer(), CompoundScorer()
    started = time.perf_counter()
    expected = [analyzer.polarity_scores(text)["compound"] for text in texts]
    library = time.perf_counter() - started
    started = time.perf_counter()
    got = [scorer.compound(text) for text in texts]
    ours = time.perf_counter() - started
    same = sum(e == g for e, g in zip(expected, got, strict=True))
    print(
        f"in one process, {len(texts):,} scored texts: vaderSentiment {len(texts) / library:,.0f} texts/s, "
        f"CompoundScorer {len(texts) / ours:,.0f} texts/s ({library / ours:.2f}x); "
        f"the same score for {same:,} of {len(texts):,}\n"
    )


def timed(label: str, run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:8.2f}s")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--texts", type=int, default=100_000, help="texts scored in process (step 1)")
    args = parser.parse_args()

    lake = lake_for(args.tweets, args.files)
    in_process(lake, args.texts)
    import pyspark.sql.functions as F
    import pyspark.sql.types as T

    from common.spark import build_local_spark
    from glue_jobs.transforms import raw, sentiment
    from glue_jobs.transforms import tweets as tw

    spark = build_local_spark("tweetlake-sentiment-bench", driver_memory="6g")
    keys = [o.key for o in lake.list("raw/tweets/dt=2026-11-20/")]
    lines_df = spark.read.text([lake.hadoop_url(k) for k in keys]).withColumn("source_uri", F.input_file_name())
    parsed_df = raw.parse_raw_lines(raw.lines_of_text(lines_df), tw.TWEET_SCHEMA).persist()
    tweets_df = parsed_df.transform(tw.with_tweet_keys).persist()
    started = time.perf_counter()
    total = tweets_df.count()
    print(f"parsed and cached {total:,} tweets in {time.perf_counter() - started:.1f}s")
    scored = tweets_df.filter(sentiment.is_scored(F.col("data.lang"), tw.has_reference("retweeted"))).count()
    print(f"{scored:,} of them are scored (English, not retweets)\n")

    def rows_without_sentiment(rows_df: Any) -> Any:
        return rows_df.withColumn("sentiment_compound", F.lit(None).cast("double")).withColumn(
            "sentiment_label", F.lit(None).cast("string")
        )

    def fact_rows(frame: Any) -> Callable[[], Any]:
        return lambda: frame.transform(tw.tweet_rows).write.format("noop").mode("overwrite").save()

    real = tw.with_sentiment
    try:
        tw.with_sentiment = rows_without_sentiment  # type: ignore[assignment]
        fact_rows(tweets_df)()  # warm-up: JIT of the plan, the Python workers' start
        without = timed("fact_tweet rows, no sentiment", fact_rows(tweets_df))
    finally:
        tw.with_sentiment = real  # type: ignore[assignment]
    with_udf = timed("fact_tweet rows, VADER in the pandas UDF", fact_rows(tweets_df))
    added = with_udf - without
    print(
        f"\nsentiment adds {added:.1f}s to the tweets job's fact_tweet output for {total:,} tweets "
        f"({scored / added if added > 0 else float('inf'):,.0f} scored texts/s on this machine)"
    )

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    @F.pandas_udf(T.DoubleType())  # type: ignore[call-overload,misc]
    def library_compound(texts: pd.Series) -> pd.Series:  # the job's UDF, with the library's polarity_scores
        analyzer = SentimentIntensityAnalyzer()
        distinct = {text: analyzer.polarity_scores(text)["compound"] for text in set(texts.dropna())}
        return pd.Series([distinct.get(t) if isinstance(t, str) else None for t in texts], dtype="float64")

    def with_library(rows_df: Any) -> Any:
        is_retweet = F.col("tweet_type") == "retweet"
        compound = library_compound(F.when(sentiment.is_scored(F.col("lang"), is_retweet), F.col("text")))
        return rows_df.withColumn("sentiment_compound", compound).withColumn(
            "sentiment_label", sentiment.sentiment_label(F.col("sentiment_compound"))
        )

    try:
        tw.with_sentiment = with_library  # type: ignore[assignment]
        with_lib = timed("fact_tweet rows, vaderSentiment in the pandas UDF", fact_rows(tweets_df))
    finally:
        tw.with_sentiment = real  # type: ignore[assignment]
    added_lib = with_lib - without
    print(f"the library's polarity_scores instead adds {added_lib:.1f}s ({scored / max(added_lib, 1e-9):,.0f} texts/s)")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
