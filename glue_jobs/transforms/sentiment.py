"""Sentiment of a tweet's full text: VADER (``vaderSentiment``, MIT), scored in Arrow batches.

VADER is a lexicon and rule model built for social media (emoji, slang, negation, ALL CAPS,
"!!!"): it needs no network and no model weights beyond the lexicon files inside its wheel, and
it installs from PyPI on Glue (``--additional-python-modules``). Scoring goes through a pandas UDF:
Spark hands each Python worker a batch of texts over Arrow and gets a batch of scores back, never
one Python call per row through a plain UDF. Within a batch each distinct text is scored once (a
thread's replies and retweet storms repeat texts), by ``glue_jobs/transforms/vader.py``: VADER's
rules and lexicon without the library's repeated work, the library's compound score to the last
bit at about four times its speed.

Only English tweets that are not retweets are scored: the lexicon is English, and a retweet's text
is cut (``RT @user: …``) while the original tweet, collected on its own, carries the score. The
tweets job reads only lake files missing from the ledger, so each run scores only the records it
brings: the texts new to the warehouse (an edit is a new tweet id with its own text).
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd  # at run time: Spark reads the pandas UDF's type hints
import pyspark.sql.functions as F
import pyspark.sql.types as T
from pyspark.sql import Column

POSITIVE_AT = 0.05
"""VADER's authors' thresholds: compound ≥ 0.05 is positive, ≤ −0.05 negative, else neutral."""
NEGATIVE_AT = -0.05
SCORED_LANGUAGES: tuple[str, ...] = ("en",)


@functools.cache
def _scorer() -> Any:
    """One scorer per Python worker (it loads VADER's lexicon files once)."""
    from glue_jobs.transforms.vader import CompoundScorer

    return CompoundScorer()


def compound_scores(texts: pd.Series) -> pd.Series:
    """VADER compound scores (−1…1) of a batch of texts; a missing text scores NULL."""
    scorer = _scorer()
    distinct = {text: scorer.compound(text) for text in set(texts.dropna())}
    return pd.Series(
        [distinct.get(text) if isinstance(text, str) else None for text in texts], index=texts.index, dtype="float64"
    )


@F.pandas_udf(T.DoubleType())  # type: ignore[call-overload,misc]
def vader_compound(texts: pd.Series) -> pd.Series:
    return compound_scores(texts)


def sentiment_label(compound: Column) -> Column:
    return (
        F.when(compound >= F.lit(POSITIVE_AT), F.lit("positive"))
        .when(compound <= F.lit(NEGATIVE_AT), F.lit("negative"))
        .when(compound.isNotNull(), F.lit("neutral"))
    )


def is_scored(lang: Column, is_retweet: Column) -> Column:
    return lang.isin(*SCORED_LANGUAGES) & ~is_retweet


def sentiment_compound(text: Column, lang: Column, is_retweet: Column) -> Column:
    """The compound score of ``text`` where the tweet is scored, else NULL (the UDF still sees the
    row, as a NULL it skips: Spark evaluates a pandas UDF on whole batches)."""
    return vader_compound(F.when(is_scored(lang, is_retweet), text))
