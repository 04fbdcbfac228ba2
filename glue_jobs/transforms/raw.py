"""Raw lake lines → parsed records, or quarantined lines with a reason.

The lake holds one JSON object a line (see ``common/layout.py``). Lines are read as text and parsed
with ``from_json`` against an explicit schema, never an inferred one. Leaves that the API has been
seen to drift (``edits_remaining`` string or integer) or that we cast anyway (ids, counts, booleans)
are read as strings: Spark keeps the text of any JSON scalar in a string field, so a drifted type
never turns a record into a corrupt one. A field the schema does not know is ignored; a field the
record lacks is ``NULL``.
"""

from __future__ import annotations

from collections.abc import Callable

import pyspark.sql.functions as F
import pyspark.sql.types as T
from pyspark.sql import Column, DataFrame

CORRUPT = "_corrupt_record"

ERROR_SCHEMA = T.StructType(
    [
        T.StructField(name, T.StringType())
        for name in ("value", "detail", "title", "resource_type", "parameter", "resource_id", "type")
    ]
)

REASON_MALFORMED = "malformed JSON line"
REASON_NO_PAYLOAD = "record holds neither data nor error"
REASON_NO_ID = "record without id"
REASON_BAD_COLLECTED_AT = "missing or invalid collected_at"
REASON_BAD_UTF8 = "not valid UTF-8"
REASON_LONE_SURROGATE = "a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair)"

COUNT_STRUCTS: tuple[str, ...] = ("public_metrics",)
"""Objects of counts in a record's data: when present, each must be an object, and each of its
counts an integer (``"lots"``, ``3.5`` or ``true`` are quarantined, never loaded as NULL)."""

OPTIONAL_ID_FIELDS: tuple[str, ...] = ("author_id",)
"""Ids a record may lack, but that must be 64-bit integers when present (checked where the data
schema has them): a garbled author would otherwise load as an unknown one."""

_ID_PATTERN = r"^[0-9]{1,19}$"
_INT_PATTERN = r"^-?[0-9]{1,18}$"
_SOURCE_KEY_PATTERN = r"(raw/[a-z_]+/dt=([0-9-]+)/[^/]+)$"


def reason_bad_id(field: str) -> str:
    return f"{field} is not a 64-bit integer"


def reason_not_object(field: str) -> str:
    return f"{field} is not an object"


def reason_bad_count(field: str) -> str:
    return f"{field} is not an integer"


# A \\uD800-\\uDBFF escape not followed by a \\uDC00-\\uDFFF one, or one of those not preceded by the first:
# JSON allows it, Jackson decodes it, and PostgreSQL's UTF-8 would get a "?" instead.
_LONE_SURROGATE = (
    r"\\u[dD][89aAbB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89aAbB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


REASON_BAD_ID = reason_bad_id("id")


def envelope_schema(data_schema: T.StructType) -> T.StructType:
    return T.StructType(
        [
            T.StructField("collected_at", T.StringType()),
            T.StructField("run_id", T.StringType()),
            T.StructField("source", T.StringType()),
            T.StructField("data", data_schema),
            T.StructField("error", ERROR_SCHEMA),
            T.StructField(CORRUPT, T.StringType()),
        ]
    )


# -- column functions ------------------------------------------------------------------------
def to_id(col: Column) -> Column:
    """A 64-bit id from its JSON string (or number); ``NULL`` when it is not one (also 19 digits
    above 9223372036854775807: the cast, not the pattern, catches those)."""
    text = F.trim(col)
    return F.when(text.rlike(_ID_PATTERN), text.cast(T.LongType()))


def to_long(col: Column) -> Column:
    text = F.trim(col)
    return F.when(text.rlike(_INT_PATTERN), text.cast(T.LongType()))


def to_bool(col: Column) -> Column:
    text = F.lower(F.trim(col))
    return F.when(text.isin("true", "1"), F.lit(True)).when(text.isin("false", "0"), F.lit(False))


def to_timestamp(col: Column) -> Column:
    """RFC 3339 as the API and the lake write it (``2024-05-01T12:00:00.000Z``)."""
    return F.trim(col).cast(T.TimestampType())


def to_date_key(col: Column) -> Column:
    """``YYYYMMDD`` of a UTC timestamp (the session time zone is UTC); ``NULL`` outside 1970–9999."""
    is_plausible = F.year(col).between(1970, 9999)
    return F.when(is_plausible, F.date_format(col, "yyyyMMdd").cast(T.IntegerType()))


def has_surrogate_escape(line: Column) -> Column:
    """Whether a raw line holds ``\\ud``/``\\uD`` at all: two byte searches that spare the lone-surrogate
    pattern (a regular expression with look-arounds at every character) the lines without one."""
    return line.contains("\\ud") | line.contains("\\uD")


def clean_text(col: Column) -> Column:
    """PostgreSQL text cannot hold NUL characters; JSON can (``\\u0000``)."""
    return F.regexp_replace(col, "\u0000", "")


# -- DataFrame transforms --------------------------------------------------------------------
def filter_blank_lines(lines_df: DataFrame) -> DataFrame:
    return lines_df.filter(F.length(F.trim(F.col("value"))) > 0)


def with_source_key(lines_df: DataFrame) -> DataFrame:
    """The lake key (``raw/<dataset>/dt=…/<file>``) of the file a line came from."""
    return lines_df.withColumn("source_file", F.regexp_extract(F.col("source_uri"), _SOURCE_KEY_PATTERN, 1))


def with_parsed_record(data_schema: T.StructType) -> Callable[[DataFrame], DataFrame]:
    def transform(lines_df: DataFrame) -> DataFrame:
        options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
        return lines_df.withColumn("record", F.from_json(F.col("value"), envelope_schema(data_schema), options))

    return transform


def with_quarantine_reason(
    optional_ids: tuple[str, ...] = (), counts: dict[str, tuple[str, ...]] | None = None
) -> Callable[[DataFrame], DataFrame]:
    """Why a parsed line cannot be used (``NULL`` when it can). An id must convert, not only look
    like digits: a NULL key would fail the merge's NOT NULL and with it every later run. A line that
    is not UTF-8 (Spark would read U+FFFD in its place) or escapes half a surrogate pair (it would
    load as ``?``) is quarantined rather than loaded altered; so are counts that are not integers
    (``counts``: an object of counts in data → its fields)."""

    def transform(parsed_df: DataFrame) -> DataFrame:
        line = F.col("value")
        is_bad_utf8 = line.cast(T.BinaryType()) != F.encode(line, "UTF-8")  # the bytes, against their decoding
        record = F.col("record")
        has_data = record["data"].isNotNull()
        has_error = record["error"].isNotNull()
        is_malformed = record.isNull() | (~has_data & ~has_error & record[CORRUPT].isNotNull())
        data_id = F.trim(record["data"]["id"])
        is_id_missing = has_data & (data_id.isNull() | (data_id == ""))
        is_id_invalid = has_data & to_id(data_id).isNull()
        collected_at = to_timestamp(record["collected_at"])
        is_collected_at_bad = collected_at.isNull() | ~F.year(collected_at).between(1970, 9999)
        reason = (
            F.when(is_bad_utf8, F.lit(REASON_BAD_UTF8))
            .when(has_surrogate_escape(line) & line.rlike(_LONE_SURROGATE), F.lit(REASON_LONE_SURROGATE))
            .when(is_malformed, F.lit(REASON_MALFORMED))
            .when(~has_data & ~has_error, F.lit(REASON_NO_PAYLOAD))
            .when(is_id_missing, F.lit(REASON_NO_ID))
            .when(is_id_invalid, F.lit(REASON_BAD_ID))
        )
        for field in optional_ids:
            value = record["data"][field]
            is_invalid = has_data & value.isNotNull() & to_id(value).isNull()
            reason = reason.when(is_invalid, F.lit(reason_bad_id(field)))
        for struct, fields in (counts or {}).items():
            # a value that is not an object fails the record's schema (the record keeps its other
            # fields and its corrupt-record text): only then is the line parsed again to tell
            # a missing field from a wrong one
            raw_struct = F.get_json_object(line, f"$.data.{struct}")
            is_not_object = (
                has_data & record[CORRUPT].isNotNull() & record["data"][struct].isNull() & raw_struct.isNotNull()
            )
            reason = reason.when(is_not_object, F.lit(reason_not_object(struct)))
            for field in fields:
                value = record["data"][struct][field]
                is_bad = has_data & value.isNotNull() & to_long(value).isNull()
                reason = reason.when(is_bad, F.lit(reason_bad_count(f"{struct}.{field}")))
        reason = reason.when(is_collected_at_bad, F.lit(REASON_BAD_COLLECTED_AT))
        return parsed_df.withColumn("quarantine_reason", reason)

    return transform


def with_line_order(lines_df: DataFrame) -> DataFrame:
    """``line_order``: the line's place among its file's non-blank lines (0, 1, …), whatever the run.

    A gzip file is read by one task, whose rows get consecutive ids in file order, so the id minus
    the file's smallest id is the line's index; it does not depend on which other files the run
    reads (a rerun gives a record the same key). One small aggregate per file, broadcast back."""
    with_ids = lines_df.withColumn("_row_id", F.monotonically_increasing_id())
    first_df = with_ids.groupBy("source_file").agg(F.min("_row_id").alias("_first_id"))
    return (
        with_ids.join(F.broadcast(first_df), on="source_file", how="left")
        .withColumn("line_order", F.col("_row_id") - F.col("_first_id"))
        .drop("_row_id", "_first_id")
    )


def parse_raw_lines(lines_df: DataFrame, data_schema: T.StructType) -> DataFrame:
    """Lines → one row per line, parsed or with a reason.

    Input: ``source_file`` (the lake key), ``line_order`` (the line's place among its file's
    non-blank lines), ``value`` (the line) and, from ``glue_jobs/filecheck.py``'s reader,
    ``file_reason`` (a file's verdict row: see :data:`~glue_jobs.filecheck.READ_SCHEMA`).
    Output: ``source_file``, ``line_order``, ``file_reason``, ``line`` (the raw line, on quarantined
    rows only), ``quarantine_reason`` (``NULL`` when good), ``collected_at`` (timestamp),
    ``run_id``, ``data`` and ``error`` (structs, one of them set on good rows).
    """
    optional_ids = tuple(f for f in OPTIONAL_ID_FIELDS if f in data_schema.fieldNames())
    counts = {
        name: tuple(data_schema[name].dataType.fieldNames())  # type: ignore[attr-defined]
        for name in COUNT_STRUCTS
        if name in data_schema.fieldNames() and isinstance(data_schema[name].dataType, T.StructType)
    }
    if "file_reason" not in lines_df.columns:
        lines_df = lines_df.withColumn("file_reason", F.lit(None).cast(T.StringType()))
    parsed_df = lines_df.transform(with_parsed_record(data_schema)).transform(
        with_quarantine_reason(optional_ids, counts)
    )
    return parsed_df.select(
        "source_file",
        "line_order",
        "file_reason",
        F.when(F.col("quarantine_reason").isNotNull(), F.col("value")).alias("line"),  # kept for quarantine only
        "quarantine_reason",
        to_timestamp(F.col("record.collected_at")).alias("collected_at"),
        F.col("record.run_id").alias("run_id"),
        F.col("record.data").alias("data"),
        F.col("record.error").alias("error"),
    )


def lines_of_text(text_df: DataFrame) -> DataFrame:
    """``value`` and ``source_uri`` (``spark.read.text`` with ``input_file_name()``, or rows made by
    hand) → the input of :func:`parse_raw_lines`: blank lines left out, each line with its file's
    key and place. The jobs read files with ``glue_jobs/filecheck.py`` instead (one pass that also
    checks them); this is for tests and benchmarks of the transforms."""
    lines_df = text_df.transform(filter_blank_lines).transform(with_source_key).transform(with_line_order)
    return lines_df.select("source_file", "line_order", "value")


def filter_good_records(parsed_df: DataFrame) -> DataFrame:
    return parsed_df.filter(F.col("quarantine_reason").isNull())


def filter_data_records(parsed_df: DataFrame) -> DataFrame:
    return parsed_df.filter(F.col("quarantine_reason").isNull() & F.col("data").isNotNull())


def filter_error_records(parsed_df: DataFrame) -> DataFrame:
    return parsed_df.filter(F.col("quarantine_reason").isNull() & F.col("error").isNotNull())


def quarantined_lines(parsed_df: DataFrame) -> DataFrame:
    """What goes to ``<lake>/quarantine/<dataset>/``: the line, why, and where it came from.

    ``dt`` and ``source_hash`` (of the source file's key) name the folder a file's lines go to, so
    that a rerun overwrites them instead of adding a second copy.
    """
    source = F.col("source_file")
    return parsed_df.filter(F.col("quarantine_reason").isNotNull()).select(
        source,
        F.col("quarantine_reason").alias("reason"),
        "line",
        F.regexp_extract(source, _SOURCE_KEY_PATTERN, 2).alias("dt"),
        F.substring(F.sha1(source), 1, 16).alias("source_hash"),
    )


def file_counts(parsed_df: DataFrame) -> DataFrame:
    """Per source file: data records loaded, API error records (used, not loaded as data), lines
    quarantined, and ``file_reason``: why the file cannot load at all (``NULL`` when it can)."""
    reason = F.col("quarantine_reason")
    is_line = F.col("file_reason").isNull()  # not a file's verdict row
    is_data = is_line & reason.isNull() & F.col("data").isNotNull()
    is_api_error = is_line & reason.isNull() & F.col("data").isNull()  # a good record without data holds an error
    return parsed_df.groupBy("source_file").agg(
        F.sum(is_data.cast(T.LongType())).alias("rows_loaded"),
        F.sum(is_api_error.cast(T.LongType())).alias("rows_api_errors"),
        F.sum((is_line & reason.isNotNull()).cast(T.LongType())).alias("rows_quarantined"),
        F.max("file_reason").alias("file_reason"),
    )


def record_key() -> Column:
    """``<source file>:<line order, 20 digits>``: sorts as (file, line), the merges' tie-breaker."""
    return F.concat_ws(":", F.col("source_file"), F.lpad(F.col("line_order").cast(T.StringType()), 20, "0"))
