"""One spec per dataset: what the job reads, what it stages, and how the merge writes it.

A dataset's job parses its raw lines with :attr:`DatasetSpec.raw_schema`, turns the parsed
records into one frame per :class:`Output` (a staging kind, the transforms that make it, and the
kind's column contract from ``common/warehouse/columns.py``), stages them, and hands the staging
tables to its :class:`~common.warehouse.merge.MergeSpec` (the merge, its shared lock, and what a
full refresh empties). The runner, the merge and ``tweetlake job`` all read :data:`DATASETS`.

Transforms are named, not imported (``"tweets.tweet_rows"`` is
``glue_jobs.transforms.tweets.tweet_rows``): this module loads without pyspark, so
``tweetlake job --help`` never starts Spark.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from common.layout import canonical_dataset
from common.warehouse.columns import STAGED_COLUMNS, Staging
from common.warehouse.merge import MergeSpec
from common.warehouse.merge_tweets import merge_tweet_metrics, merge_tweets
from common.warehouse.merge_users import merge_users

if TYPE_CHECKING:
    import pyspark.sql.types as T
    from pyspark.sql import DataFrame

Transform = Callable[["DataFrame"], "DataFrame"]


def resolve(name: str) -> Any:
    """``"module.attribute"`` of ``glue_jobs.transforms`` (imports pyspark)."""
    module, attribute = name.rsplit(".", 1)
    return getattr(importlib.import_module(f"glue_jobs.transforms.{module}"), attribute)


@dataclass(frozen=True)
class Output:
    """A staging frame: the parsed records through ``steps`` (transform names, in order)."""

    kind: Staging
    steps: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The staging table's columns, in the order they are staged."""
        return STAGED_COLUMNS[self.kind]

    def apply(self, parsed_df: DataFrame) -> DataFrame:
        transforms = [cast(Transform, resolve(step)) for step in self.steps]
        return functools.reduce(lambda df, transform: df.transform(transform), transforms, parsed_df)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    raw_schema: str
    """The name of the ``data`` object's schema (a ``StructType`` in ``glue_jobs.transforms``)."""
    outputs: tuple[Output, ...]
    """Staged in this order, which is the order the merge reads them in (it begins on the first
    while the later ones are written: ``glue_jobs/staged.py``)."""
    merge: MergeSpec

    def data_schema(self) -> T.StructType:
        return cast("T.StructType", resolve(self.raw_schema))

    @property
    def kinds(self) -> tuple[Staging, ...]:
        return tuple(out.kind for out in self.outputs)


_TWEET_KEYS = "tweets.with_tweet_keys"  # good data records → tweet_id, collected_at, data, entities


def _of_tweets(kind: Staging, transform: str) -> Output:
    """An output of tweet objects: ``with_tweet_keys``, then ``tweets.<transform>``."""
    return Output(kind, (_TWEET_KEYS, f"tweets.{transform}"))


_METRIC_SNAPSHOTS = _of_tweets(Staging.METRIC, "metric_snapshots")  # both tweet datasets stage these two
_EDIT_LINKS = _of_tweets(Staging.EDIT_LINK, "explode_edit_links")

USERS = DatasetSpec(
    name="users",
    raw_schema="users.USER_SCHEMA",
    outputs=(Output(Staging.USER, ("users.user_snapshots",)),),
    merge=MergeSpec(merge_users, reset=("TRUNCATE dim_user, user_profile_snapshot, fact_user_daily",)),
)

TWEETS = DatasetSpec(
    name="tweets",
    raw_schema="tweets.TWEET_SCHEMA",
    outputs=(
        _of_tweets(Staging.TWEET, "tweet_rows"),
        _EDIT_LINKS,
        _of_tweets(Staging.HASHTAG, "explode_hashtags"),
        _of_tweets(Staging.CASHTAG, "explode_cashtags"),
        _of_tweets(Staging.MENTION, "explode_mentions"),
        _of_tweets(Staging.URL, "explode_urls"),
        _of_tweets(Staging.REFERENCE, "explode_references"),
        _METRIC_SNAPSHOTS,
    ),
    # fact_tweet CASCADE empties the bridges; fact_tweet_metrics is shared with tweet_metrics
    # (upserted with the same key and values, never emptied).
    merge=MergeSpec(merge_tweets, reset=("TRUNCATE fact_tweet CASCADE",), shared_lock="fact_tweet"),
)

TWEET_METRICS = DatasetSpec(
    name="tweet_metrics",
    raw_schema="tweets.TWEET_SCHEMA",
    outputs=(
        _METRIC_SNAPSHOTS,
        _EDIT_LINKS,
        Output(Staging.DELETION, ("tweets.deleted_tweets",)),  # from the API's errors, not tweet objects
    ),
    merge=MergeSpec(
        merge_tweet_metrics,
        reset=("TRUNCATE tweet_deletion", "UPDATE fact_tweet SET is_deleted = false WHERE is_deleted"),
        shared_lock="fact_tweet",  # tweets and tweet_metrics read what the other writes
    ),
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (USERS, TWEETS, TWEET_METRICS)}
"""Every dataset's spec, in the order ``tweetlake job all`` runs them."""


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by any name a face accepts (``metrics`` is ``tweet_metrics``)."""
    return DATASETS[canonical_dataset(name)]
