"""The report's queries shared by two connections (``analytics/report/page.py``): the second joins
the first's snapshot, so the charts still agree with each other while a job commits."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from analytics.report import CHARTS, collect, page
from analytics.report.page import Section, _in_snapshot, _read_only
from analytics.scope import resolve
from tests.analytics.rows import query, small_warehouse, tweet

pytestmark = pytest.mark.slow  # a real PostgreSQL


def test_two_connections_give_every_chart_the_rows_one_gives(wh: Any, pg_url: str, schema: str) -> None:
    small_warehouse(wh)
    scope = resolve(wh, schema)
    alone, health, _ = collect(wh, scope)
    told: list[tuple[str, str]] = []

    def on_section(section: Section) -> None:
        lane = threading.current_thread().name
        if lane == "MainThread" and not told:
            time.sleep(0.5)  # the first lane dawdles: the second surely takes charts of its own
        told.append((section.chart.id, lane))

    with psycopg.connect(pg_url, autocommit=True) as second:
        shared, health_shared, _ = collect(wh, scope, on_section=on_section, second=second)
        assert second.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # its transaction ended
    assert [s.chart.id for s in shared] == [c.id for c in CHARTS], "the sections come in the charts' order"
    assert sorted(chart for chart, _ in told) == sorted(c.id for c in CHARTS), "each chart's rows are told once"
    assert len({lane for _, lane in told}) == 2, "both connections ran queries"
    assert {s.chart.id: s.table for s in shared} == {s.chart.id: s.table for s in alone}
    assert health_shared == health
    assert all(s.table.rows for s in shared), "the small warehouse has rows for every chart"


def test_a_failing_query_on_the_second_connection_stops_the_first_and_ends_both_transactions(
    wh: Any, pg_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_warehouse(wh)
    scope = resolve(wh, schema)
    ran: list[str] = []
    real = page.run_query

    def run_query(conn: Any, sql: str, params: dict[str, Any]) -> Any:
        if threading.current_thread().name != "MainThread":
            raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
        time.sleep(0.2)  # the second lane fails while the first is still at its first chart
        ran.append(sql)
        return real(conn, sql, params)

    monkeypatch.setattr(page, "run_query", run_query)
    with psycopg.connect(pg_url, autocommit=True) as second:
        with pytest.raises(psycopg.errors.QueryCanceled):
            collect(wh, scope, second=second)
        for conn in (wh, second):
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert len(ran) < len(CHARTS) - 1, "the first lane took no more charts once the second failed"


def test_the_second_connection_reads_the_first_ones_snapshot_not_a_later_commit(
    wh: Any, pg_url: str, schema: str
) -> None:
    small_warehouse(wh)
    count = "SELECT count(*) FROM fact_tweet"
    before = query(wh, count)[0][0]
    seen: list[int] = []
    first = psycopg.connect(pg_url, autocommit=True)
    with first, psycopg.connect(pg_url, autocommit=True) as second, first.transaction():
        _read_only(first, schema)
        snapshot = first.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tweet(wh, 999, 1, datetime(2026, 11, 5, 8, tzinfo=UTC))  # a job commits a tweet meanwhile
        _in_snapshot(second, schema, snapshot, lambda c: seen.append(c.execute(count).fetchone()[0]))
        assert first.execute(count).fetchone()[0] == before
    assert seen == [before], "the second connection sees what the first does, not the tweet committed since"
    assert query(wh, count)[0][0] == before + 1


def test_a_server_that_refuses_a_second_connection_still_gets_its_report(wh: Any, pg_url: str, schema: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    from analytics.report import build_report
    from analytics.report.page import second_connection
    from common.warehouse.db import DbTarget

    small_warehouse(wh)
    role = f"{schema}_one"  # allowed one connection, as behind a small pooler or a connection limit
    wh.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'one-connection' CONNECTION LIMIT 1")
    try:
        wh.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        wh.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
        server = urlsplit(pg_url)
        url = urlunsplit(server._replace(netloc=f"{role}:one-connection@{server.hostname}:{server.port}"))
        with psycopg.connect(url, autocommit=True) as conn, second_connection(DbTarget.from_url(url)) as second:
            assert second is None, "the role's one connection is taken"
            page = build_report(conn, resolve(conn, schema), second=second)
        assert all(f'id="{chart.id}"' in page for chart in CHARTS)
    finally:
        wh.execute(f"DROP OWNED BY {role}")
        wh.execute(f"DROP ROLE {role}")
