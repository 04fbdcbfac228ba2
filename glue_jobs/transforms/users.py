"""users: profile snapshots from ``GET /2/users/by`` → one row per (user, collection time).

The merge turns these snapshots into ``dim_user`` (SCD type 2) and ``fact_user_daily``; API errors
(suspended or unknown accounts) are counted, not loaded.
"""

from __future__ import annotations

import pyspark.sql.functions as F
import pyspark.sql.types as T
from pyspark.sql import DataFrame

from common.warehouse.columns import USER_COUNT_COLUMNS
from glue_jobs.transforms.raw import clean_text, filter_data_records, to_bool, to_date_key, to_id, to_long, to_timestamp

_S = T.StringType()

USER_PUBLIC_METRICS = T.StructType([T.StructField(n, _S) for n in USER_COUNT_COLUMNS])  # the API's names
USER_SCHEMA = T.StructType(
    [
        *(
            T.StructField(n, _S)
            for n in (
                "id",
                "username",
                "name",
                "created_at",
                "description",
                "location",
                "most_recent_tweet_id",
                "pinned_tweet_id",
                "profile_image_url",
                "protected",
                "url",
                "verified",
                "verified_type",
            )
        ),
        T.StructField("public_metrics", USER_PUBLIC_METRICS),
    ]
)


def user_snapshots(parsed_df: DataFrame) -> DataFrame:
    """Parsed users records → ``USER_SNAPSHOT_COLUMNS`` (``common/warehouse/columns.py``)."""
    user = F.col("data")
    metrics = user["public_metrics"]
    return parsed_df.transform(filter_data_records).select(
        to_id(user["id"]).alias("user_id"),
        F.col("collected_at"),
        to_date_key(F.col("collected_at")).alias("date_key"),
        clean_text(user["username"]).alias("username"),
        clean_text(user["name"]).alias("name"),
        clean_text(user["description"]).alias("description"),
        clean_text(user["location"]).alias("location"),
        clean_text(user["url"]).alias("url"),
        clean_text(user["profile_image_url"]).alias("profile_image_url"),
        to_bool(user["verified"]).alias("verified"),
        clean_text(user["verified_type"]).alias("verified_type"),
        to_bool(user["protected"]).alias("protected"),
        to_timestamp(user["created_at"]).alias("account_created_at"),
        *(to_long(metrics[c]).alias(c) for c in USER_COUNT_COLUMNS),
    )
