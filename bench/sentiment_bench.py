"""What the sentiment score adds to the tweets job (not run in CI).

On the tweets bench's lake (``bench/run_glue_bench.py``'s generator: the same realistic raw tweets,
~57 % English non-retweets, 5 % long posts), times the tweets job's ``fact_tweet`` output —
``with_tweet_keys`` then ``tweet_rows`` — written to Spark's ``noop`` sink (every column computed,
nothing stored), three ways:

* without sentiment (the two columns NULL): the job as it was before;
* with sentiment: VADER in the pandas UDF (Arrow batches), as the job runs it;
* with a plain Python UDF (one Python call per row), the way the issue rules out, for comparison
  (``--plain-udf``; on a smaller sample with ``--plain-udf-tweets``).

    .venv/bin/python bench/sentiment_bench.py [--tweets 1000000] [--files 20]
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
    parser.add_argument("--plain-udf", action="store_true", help="also time a plain Python UDF")
    parser.add_argument("--plain-udf-tweets", type=int, default=100_000, help="its sample size")
    args = parser.parse_args()

    lake = lake_for(args.tweets, args.files)
    import pyspark.sql.functions as F
    import pyspark.sql.types as T

    from common.spark import build_local_spark
    from glue_jobs.transforms import raw, sentiment
    from glue_jobs.transforms import tweets as tw

    spark = build_local_spark("tweetlake-sentiment-bench", driver_memory="6g")
    keys = [o.key for o in lake.list("raw/tweets/dt=2026-11-20/")]
    lines_df = spark.read.text([lake.hadoop_url(k) for k in keys]).withColumn("source_uri", F.input_file_name())
    parsed_df = raw.parse_raw_lines(lines_df, tw.TWEET_SCHEMA).persist()
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

    if args.plain_udf:
        sample_df = tweets_df.limit(args.plain_udf_tweets).persist()
        n = sample_df.count()

        @F.udf(T.DoubleType())
        def plain(text: str | None) -> float | None:
            return None if text is None else sentiment._analyzer().polarity_scores(text)["compound"]

        def with_plain(rows_df: Any) -> Any:
            is_retweet = F.col("tweet_type") == "retweet"
            compound = plain(F.when(sentiment.is_scored(F.col("lang"), is_retweet), F.col("text")))
            return rows_df.withColumn("sentiment_compound", compound).withColumn(
                "sentiment_label", sentiment.sentiment_label(F.col("sentiment_compound"))
            )

        print(f"\non a sample of {n:,} tweets:")
        pandas_seconds = timed("pandas UDF (Arrow batches)", fact_rows(sample_df))
        try:
            tw.with_sentiment = with_plain  # type: ignore[assignment]
            plain_seconds = timed("plain Python UDF (a call per row)", fact_rows(sample_df))
        finally:
            tw.with_sentiment = real  # type: ignore[assignment]
        print(f"  plain UDF / pandas UDF: {plain_seconds / pandas_seconds:.2f}×")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
