"""The report's HTML page: every chart's figure, caption and table, plotly.js inlined once."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from analytics.pipeline import pipeline_health, quarantine_reasons
from analytics.report.charts import CHARTS, PIPELINE, Chart
from analytics.scope import Scope
from analytics.table import Table, run_query
from common import __version__
from common.lake import Lake
from common.warehouse.db import DatabaseUnavailable, DbTarget, check_identifier

log = logging.getLogger("tweetlake.report")


@dataclass(frozen=True)
class Section:
    chart: Chart
    table: Table


def collect(
    conn: Any,
    scope: Scope,
    lake: Lake | None = None,
    on_section: Callable[[Section], object] | None = None,
    *,
    second: Any | None = None,
) -> tuple[list[Section], Table, Table | None]:
    """Every chart's rows, the pipeline-health table and the quarantine reasons (when the lake is
    readable), inside one read-only snapshot; ``on_section`` is told of each chart's rows as soon
    as they are read (from either connection's thread).

    ``second``, another connection to the same database, shares the queries: it joins the first's
    snapshot (``pg_export_snapshot``), and the two take the charts dearest first. Each query
    already runs with parallel workers, but not all of it is parallel: at a million tweets the
    two connections take a third off the queries' time (bench/README.md)."""
    check_identifier(scope.schema)
    tables: dict[str, Table] = {}
    todo = sorted(CHARTS, key=lambda chart: -chart.cost)
    taking = threading.Lock()

    def lane(lane_conn: Any) -> None:
        try:
            while True:
                with taking:
                    if not todo:
                        return
                    chart = todo.pop(0)
                sql, params = chart.query(scope)
                tables[chart.id] = run_query(lane_conn, sql, params)
                if on_section is not None:
                    on_section(Section(chart, tables[chart.id]))
        except BaseException:
            with taking:  # a failure on either lane: the other takes nothing more
                todo.clear()
            raise

    with conn.transaction():
        _read_only(conn, scope.schema)
        if second is None:
            lane(conn)
        else:
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            with ThreadPoolExecutor(1, thread_name_prefix="tweetlake-report-query") as pool:
                helper = pool.submit(_in_snapshot, second, scope.schema, snapshot, lane)
                try:
                    lane(conn)
                except BaseException:
                    second.cancel_safe()  # (Ctrl-C, or a failure here) its query in flight stops too
                    raise
                helper.result()
        health = pipeline_health(conn)
    reasons = quarantine_reasons(lake) if lake is not None else None
    return [Section(chart, tables[chart.id]) for chart in CHARTS], health, reasons


@contextlib.contextmanager
def second_connection(target: DbTarget) -> Iterator[Any | None]:
    """Another connection for :func:`collect`, or ``None`` when the server will not give one (a
    connection limit, a pooler's): the report then runs every query on the first, as it used to."""
    import psycopg

    try:
        conn = target.connect(autocommit=True)
    except (psycopg.OperationalError, DatabaseUnavailable) as err:
        log.info("the report's queries run on one connection: a second was refused (%s)", err)
        yield None
        return
    with conn:
        yield conn


def _read_only(conn: Any, schema: str) -> None:
    """The transaction just begun on ``conn``: one read-only snapshot, the schema's names first."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    conn.execute(f"SET LOCAL search_path TO {schema}, public")


def _in_snapshot(conn: Any, schema: str, snapshot: str, work: Callable[[Any], None]) -> None:
    """``work(conn)`` in a read-only transaction that sees exactly the exported ``snapshot``."""
    from psycopg import sql

    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        conn.execute(f"SET LOCAL search_path TO {schema}, public")
        work(conn)


def build_report(
    conn: Any,
    scope: Scope,
    *,
    lake: Lake | None = None,
    now: datetime | None = None,
    billed: Table | None = None,
    second: Any | None = None,
) -> str:
    """The whole HTML page; ``billed``: the usage ledger's month by dataset (the X API's bill), when
    there is one; ``second``: another connection, to run half the queries (see :func:`collect`)."""
    import plotly.offline

    # Each chart's figure is drawn (Python) while the database answers the next query: at 1 M
    # tweets the figures take a quarter of the report's time (bench/README.md).
    with ThreadPoolExecutor(1, thread_name_prefix="tweetlake-report") as drawing:
        drawn: dict[str, Future[str]] = {}
        _, health, reasons = collect(
            conn,
            scope,
            lake,
            lambda s: drawn.__setitem__(s.chart.id, drawing.submit(_section, s.chart, s.table)),
            second=second,
        )
        blocks = [drawn[chart.id].result() for chart in CHARTS]
    generated = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    blocks.append(_section(PIPELINE, health, extra=_reasons_block(reasons) + _billed_block(billed)))
    body = "\n".join(blocks)
    plotlyjs = plotly.offline.get_plotlyjs()
    return _PAGE.format(
        title=html.escape(f"tweetlake report · {scope.schema}"),
        csp=content_security_policy([plotlyjs, *_SCRIPT.findall(body)]),
        scope=html.escape(scope.describe()),
        generated=html.escape(generated),
        version=html.escape(__version__),
        plotlyjs=plotlyjs,
        toc="".join(f'<li><a href="#{c.id}">{html.escape(c.title)}</a></li>' for c in (*CHARTS, PIPELINE)),
        body=body,
    )


_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.S)


def content_security_policy(scripts: list[str]) -> str:
    """The page may load nothing from anywhere, and run only its own scripts, each allowed by its
    SHA-256 (no ``'unsafe-inline'``, no ``'unsafe-eval'``): markup that ever escaped the escaping
    could not run. Styles stay inline (plotly sets them on its elements)."""
    hashes = sorted(
        {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in scripts}
    )
    return (
        f"default-src 'none'; script-src {' '.join(hashes)}; style-src 'unsafe-inline';"
        " img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def _section(chart: Chart, table: Table, extra: str = "") -> str:
    if table.rows:
        figure = chart.figure(table)
        plot = figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{chart.id}",
            config={"displaylogo": False, "responsive": True},
        )
        plot = f'<div class="chart" data-chart="{chart.id}">{plot}</div>'
    else:
        plot = f'<p class="empty" data-empty="{chart.id}">{html.escape(chart.empty)}.</p>'
    return (
        f'<section id="{chart.id}"><h2>{html.escape(chart.title)}</h2><figure>{plot}'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
        f"<details><summary>Table ({len(table.rows)} rows)</summary>{_table_html(table)}</details>"
        f"{extra}</section>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _billed_block(billed: Table | None) -> str:
    if billed is None:
        return "<p>Billed X API reads: no usage ledger in the lake (<code>state/usage/</code>).</p>"
    return (
        f'<h3 id="billed">Billed X API reads, {html.escape(str(billed.rows[0][0]))} to date</h3>'
        "<p>What the runs read by X's pay-per-use rules (a post or user read once per UTC day, across"
        " datasets), at the documented prices; from the lake's usage ledger.</p>" + _table_html(billed)
    )


def _reasons_block(reasons: Table | None) -> str:
    if reasons is None:
        return "<p>Quarantine reasons: not read (no lake given with <code>--lake</code>, or it could not be read).</p>"
    if not reasons.rows:
        return "<p>Quarantine reasons: nothing quarantined in the lake.</p>"
    return f"<h3>Quarantined lines by reason</h3>{_table_html(reasons)}"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #222; }}
header p {{ color: #555; margin: .2rem 0; }}
section {{ border-top: 1px solid #ddd; padding: .5rem 0 1rem; }}
figure {{ margin: 0; }} figcaption {{ color: #444; font-size: .92rem; margin: .3rem 0 .5rem; }}
table {{ border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }}
th, td {{ border: 1px solid #ddd; padding: .15rem .5rem; text-align: left; }} th {{ background: #f4f4f4; }}
.empty {{ background: #fafafa; border: 1px dashed #ccc; padding: 1rem; color: #666; }}
nav ol {{ columns: 2; font-size: .9rem; }}
</style>
<script>{plotlyjs}</script>
</head><body>
<header><h1>{title}</h1><p>{scope}</p>
<p>generated {generated} by tweetlake {version}; opens offline (plotly.js is inlined)</p>
<nav><ol>{toc}</ol></nav></header>
{body}
</body></html>
"""
