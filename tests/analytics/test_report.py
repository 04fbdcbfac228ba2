"""``tweetlake report`` over hand-built rows, opened in a real headless Chromium (Debian's package,
installed by ./scripts/test.sh), offline: no request may leave the file."""

from __future__ import annotations

import contextlib
import html
import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from analytics.report import CHARTS
from tests.analytics.rows import daily, small_warehouse, user
from tweetlake.cli import main

pytestmark = pytest.mark.slow  # the embedded PostgreSQL and a browser

# Drawn marks, per kind of plotly trace: bar rectangles, scatter lines and points, heatmap images.
MARKS_JS = """
() => Array.from(document.querySelectorAll('div.chart')).map(chart => {
  const plot = chart.querySelector('.js-plotly-plot');
  const drawn = plot ? Array.from(plot.querySelectorAll(
      'g.trace.bars g.point path, g.trace.scatter path.js-line, g.trace.scatter path.point, g.hm image'))
    .filter(el => el.tagName === 'image' || (el.getAttribute('d') || '').length > 4) : [];
  return {id: chart.dataset.chart, traces: plot && plot.data ? plot.data.length : 0, marks: drawn.length,
          svg: plot ? plot.querySelectorAll('svg.main-svg').length : 0};
})
"""

EVERY_CHART_DRAWN_JS = """
() => Array.from(document.querySelectorAll('div.chart'))
  .every(chart => chart.querySelector('.js-plotly-plot g.trace, .js-plotly-plot g.hm image'))
"""


HOSTILE_NAME = '<a href="https://evil.example/x">evil</a>'
LINKS_JS = """
() => Array.from(document.querySelectorAll('.js-plotly-plot a')).map(a => a.getAttribute('href') || a.outerHTML)
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "no chromium on PATH: ./scripts/test.sh installs Debian's chromium package"
    return found


def write_quarantine(lake_dir: Path) -> None:
    part = lake_dir / "quarantine" / "tweets" / "dt=2026-11-09" / "source_hash=0123456789abcdef" / "part-00000.json"
    part.parent.mkdir(parents=True)
    part.write_text(
        "\n".join(
            json.dumps({"reason": r, "line": "x", "run_id": "r1"})
            for r in ("malformed JSON", "malformed JSON", "id is not a 64-bit integer")
        )
        + "\n"
    )


def open_in_browser(page_path: Path, screenshot: Path) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
            page = context.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_path.as_uri(), wait_until="load", timeout=180_000)  # a loaded CI machine
            # until every chart has drawn a trace (the assertions below say which did not)
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(EVERY_CHART_DRAWN_JS, timeout=30_000)
            charts = page.evaluate(MARKS_JS)
            page.screenshot(path=str(screenshot), full_page=True)
            text = page.inner_text("body")
            links = page.evaluate(LINKS_JS)
            legend = page.evaluate(
                "() => Array.from(document.querySelectorAll('g.legend text')).map(t => t.textContent)"
            )
        finally:
            browser.close()
    return {"errors": errors, "requests": requests, "charts": charts, "text": text, "links": links, "legend": legend}


def test_report_opens_offline_in_chromium_with_every_chart_drawn(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_warehouse(wh)
    user(wh, 3, HOSTILE_NAME)  # data that plotly would draw as a link if it reached a label raw
    daily(wh, 3, date(2026, 11, 5), 42)
    lake_dir = tmp_path / "lake"
    write_quarantine(lake_dir)
    out = tmp_path / "report.html"
    assert (
        main(["report", "--database-url", pg_url, "--schema", schema, "--out", str(out), "--lake", lake_dir.as_uri()])
        == 0
    )
    assert str(out) in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"""<script[^>]+src=|<link[^>]+href=["']https?:""", page)  # nothing fetched
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "'unsafe-inline'" not in csp.group(1).split("style-src")[0] and "'unsafe-eval'" not in page
    assert "script-src 'sha256-" in csp.group(1)

    seen = open_in_browser(out, tmp_path / "report.png")
    assert seen["errors"] == []  # every script ran under the strict policy
    assert seen["links"] == []  # no data became a link
    assert HOSTILE_NAME in seen["legend"]  # shown as typed
    assert seen["requests"] == [out.as_uri()]  # the file itself, nothing else
    drawn = {c["id"]: c for c in seen["charts"]}
    assert set(drawn) == {c.id for c in CHARTS} | {"pipeline"}  # every chart has data here
    for chart_id, chart in drawn.items():
        assert chart["svg"] >= 1 and chart["traces"] >= 1 and chart["marks"] >= 1, chart_id
    assert (tmp_path / "report.png").stat().st_size > 10_000

    # every chart has its caption and its table; the tables hold the hand-worked facts
    for chart in CHARTS:
        assert html.escape(chart.caption) in page
    text = seen["text"]
    assert "Table (" in text
    sections = dict(re.findall(r'<section id="([a-z]+)">(.*?)</section>', page, flags=re.S))
    # alice on 11-10: 1000 + 9 × 50 followers; 7 days before is 11-03 (1100): +350
    assert re.search(r"<td>alice</td><td>2026-11-10</td><td>1,450</td><td>50</td><td>350</td>", sections["followers"])
    # #Space and #space are one hashtag, used by two tweets
    assert "<td>hashtag</td><td>space</td><td>2</td>" in sections["entities"]
    # Monday (1) 09 UTC: tweets 101 and 102
    assert "<td>1</td><td>9</td><td>2</td>" in sections["heatmap"]
    # quarantined lines by reason, from the lake
    assert "<td>tweets</td><td>malformed JSON</td><td>2</td>" in sections["pipeline"]
    assert "<td>tweets</td>" in sections["pipeline"] and "<td>6</td>" in sections["pipeline"]


def test_report_scope_accounts_and_since(wh: Any, pg_url: str, schema: str, tmp_path: Path) -> None:
    small_warehouse(wh)
    out = tmp_path / "bob.html"
    assert (
        main(
            [
                "report",
                "--database-url",
                pg_url,
                "--schema",
                schema,
                "--out",
                str(out),
                "--accounts",
                "BOB",
                "--since",
                "2026-11-05",
                "--lake",
                (tmp_path / "none").as_uri(),
            ]
        )
        == 0
    )
    sections = dict(re.findall(r'<section id="([a-z]+)">(.*?)</section>', out.read_text(), flags=re.S))
    assert (
        "alice" not in sections["followers"] and "<td>bob</td><td>2026-11-08</td><td>520</td>" in sections["followers"]
    )
    assert "<td>2026-11-01</td>" not in sections["followers"]  # before --since
    # bob's one scored tweet (the French one is not scored)
    assert re.search(r"<td>2026-11-09</td><td>1</td><td>0.6</td><td>1</td><td>0</td><td>0</td>", sections["sentiment"])
    # bob has no tweet observed for 7 days: that chart says so instead of drawing nothing
    assert 'data-empty="share"' in sections["share"] and "Table (0 rows)" in sections["share"]


def test_report_names_an_unknown_account_in_one_line(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_warehouse(wh)
    code = main(
        [
            "report",
            "--database-url",
            pg_url,
            "--schema",
            schema,
            "--accounts",
            "alice,nobody",
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "tweetlake report: no such account in the warehouse: nobody"
    assert not (tmp_path / "r.html").exists()


def test_report_on_a_schema_that_is_not_a_warehouse(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--database-url", pg_url, "--schema", "zz_no_such", "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 2 and "is not a warehouse" in err and len(err.strip().splitlines()) == 1
