"""Helpers of the Glue job tests: raw lake files, and fingerprints of warehouse tables."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from common.lake import Lake
from common.layout import raw_key
from common.rawio import RawPartWriter


def write_raw(
    lake: Lake, dataset: str, started_at: datetime, records: list[dict[str, Any]], run_id: str | None = None
) -> str:
    """Publish one raw part with :class:`RawPartWriter`; each record is ``{"collected_at", "data"|"error"}``."""
    run = run_id or started_at.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    writer = RawPartWriter(lake, dataset, run, started_at)
    for record in records:
        writer.write(
            record["collected_at"],
            record.get("source", f"GET {dataset}"),
            data=record.get("data"),
            error=record.get("error"),
        )
    key = writer.flush()
    assert key is not None
    return key


def write_raw_lines(lake: Lake, dataset: str, started_at: datetime, lines: list[str], part: int = 0) -> str:
    """Publish raw lines as they are (malformed ones included), for quarantine tests."""
    key = raw_key(
        dataset, started_at.date(), started_at.strftime("%Y%m%dT%H%M%SZ") + "-bad" + uuid.uuid4().hex[:4], part
    )
    lake.put_bytes(key, gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    return key


def source_hash(key: str) -> str:
    """The name of a source file's quarantine folder, as the job should compute it (written here
    independently of the job's Spark expression)."""
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]


def envelope(collected_at: str, data: Any = None, error: Any = None) -> str:
    line: dict[str, Any] = {"collected_at": collected_at, "run_id": "r", "source": "test"}
    if data is not None:
        line["data"] = data
    if error is not None:
        line["error"] = error
    return json.dumps(line)


def table_fingerprint(url: str, schema: str) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of every row (ordered) of every table of ``schema``."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename NOT IN ('etl_run')"
                " AND tablename NOT LIKE 'stg\\_%%' ORDER BY 1",
                (schema,),
            )
        ]
        result = {}
        for table in tables:
            if table == "etl_file_ledger":
                row = conn.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(concat_ws('|', dataset, path, dt, size_bytes,"
                    f" rows_loaded, rows_api_errors, rows_quarantined, status, reason, run_id, loaded_at),"
                    f" ',' ORDER BY dataset, path),"
                    f" ''))"
                    f" FROM {schema}.{table}"
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                    f" FROM {schema}.{table} t"
                ).fetchone()
            result[table] = (row[0], row[1])
        return result


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def tweet(
    tweet_id: str,
    author_id: str = "42",
    created_at: str = "2026-11-20T12:00:00.000Z",
    text: str = "hello",
    **extra: Any,
) -> dict[str, Any]:
    """A tweet object as ``GET /2/users/:id/tweets`` returns it (fields added by ``extra``)."""
    obj: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "author_id": author_id,
        "conversation_id": tweet_id,
        "created_at": created_at,
        "edit_history_tweet_ids": [tweet_id],
        "lang": "en",
        "possibly_sensitive": False,
        "edit_controls": {"edits_remaining": 5, "is_edit_eligible": True, "editable_until": created_at},
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 2,
            "like_count": 3,
            "quote_count": 4,
            "bookmark_count": 5,
            "impression_count": 6,
        },
    }
    obj.update(extra)
    return obj


def user(user_id: str, username: str, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": user_id,
        "username": username,
        "name": username.title(),
        "created_at": "2015-03-01T10:00:00.000Z",
        "description": f"I am {username}",
        "location": "Earth",
        "url": f"https://t.co/{username}",
        "profile_image_url": f"https://pbs.twimg.com/{username}.jpg",
        "protected": False,
        "verified": False,
        "verified_type": "none",
        "public_metrics": {
            "followers_count": 100,
            "following_count": 10,
            "tweet_count": 1000,
            "listed_count": 1,
            "like_count": 7,
        },
    }
    obj.update(extra)
    return obj
