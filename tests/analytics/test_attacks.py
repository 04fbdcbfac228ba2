"""Attacks on ``tweetlake export`` and ``tweetlake report``: a half-way export, formulas in CSV
cells, locations given as URIs, folders and unwritable paths, schema typos. Each ends in a file a
reader can trust, or in one line and the documented exit code."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.export import ExportOptions, export
from tests.analytics.rows import small_warehouse, tweet
from tweetlake.cli import main

pytestmark = pytest.mark.slow  # the embedded PostgreSQL

HOSTILE = {
    301: '=HYPERLINK("http://evil.example","click")',
    302: "+cmd|' /C calc'!A0",
    303: "@SUM(1+1)*cmd|' /C calc'!A0",
    304: "-2+3+cmd|' /C calc'!A0",
    305: "\t=1+1",
    306: "\r=1+1",
    307: "plain = text, not a formula",
}


def files_agree_with(manifest_path: Path) -> None:
    """Every file the manifest lists is there, with the SHA-256 and the row count it says."""
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["tables"]:
        path = manifest_path.parent / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], entry["file"]
        if entry["file"].endswith(".csv"):
            with path.open(newline="") as f:
                assert sum(1 for _ in csv.DictReader(f)) == entry["rows"], entry["file"]
        else:
            import pyarrow.parquet as pq

            assert pq.ParquetFile(path).metadata.num_rows == entry["rows"], entry["file"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_stopped_half_way_by_an_unreadable_table_leaves_no_manifest_that_lies(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    small_warehouse(wh)
    out = tmp_path / "export"
    tables = "fact_tweet,fact_user_daily,dim_user"
    base = ["export", "--format", fmt, "--out", str(out), "--database-url", pg_url, "--schema", schema]
    assert main([*base, "--tables", tables]) == 0
    files_agree_with(out / "manifest.json")
    capsys.readouterr()

    # the warehouse changes, then a re-export meets a relation it cannot read after the first table
    for i in range(5):
        tweet(wh, 900 + i, 1, datetime(2026, 11, 10, 8, i, tzinfo=UTC))
    wh.execute("CREATE VIEW cannot_read AS SELECT 1 / (count(*) - count(*)) AS boom FROM fact_tweet")
    code = main([*base, "--tables", "fact_tweet,cannot_read,dim_user"])
    err = capsys.readouterr().err
    assert code == 8 and len(err.strip().splitlines()) == 1 and "division by zero" in err, err
    manifest = out / "manifest.json"
    if manifest.exists():  # the old one must not survive to describe files that changed under it
        files_agree_with(manifest)
    assert not manifest.exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_the_manifest_gives_each_files_rows_and_sha256(wh: Any, schema: str, tmp_path: Path) -> None:
    small_warehouse(wh)
    result = export(wh, schema, str(tmp_path / "x"), ExportOptions(fmt="csv", relations=("fact_tweet", "dim_user")))
    manifest = json.loads(Path(result.manifest).read_text())
    assert [(t["table"], t["rows"]) for t in manifest["tables"]] == [("fact_tweet", 6), ("dim_user", 2)]
    files_agree_with(Path(result.manifest))


def test_csv_cells_that_would_run_as_formulas_are_neutralised_unless_asked(
    wh: Any, pg_url: str, schema: str, tmp_path: Path
) -> None:
    small_warehouse(wh)
    for tweet_id, text in HOSTILE.items():
        tweet(wh, tweet_id, 1, datetime(2026, 11, 10, 8, tzinfo=UTC), text=text)
    base = ["export", "--format", "csv", "--database-url", pg_url, "--schema", schema, "--tables", "fact_tweet"]

    def texts(folder: Path) -> dict[int, str]:
        with (folder / "fact_tweet.csv").open(newline="") as f:
            return {int(r["tweet_id"]): r["text"] for r in csv.DictReader(f) if int(r["tweet_id"]) in HOSTILE}

    assert main([*base, "--out", str(tmp_path / "safe")]) == 0
    safe = texts(tmp_path / "safe")
    for tweet_id, text in HOSTILE.items():
        expected = "'" + text if text[0] in "=+-@\t\r" else text
        assert safe[tweet_id] == expected, tweet_id
    assert json.loads((tmp_path / "safe" / "manifest.json").read_text())["csv_formulas"] == "neutralised"
    # numbers keep their sign: only text columns are touched
    wh.execute("UPDATE fact_tweet SET sentiment_compound = -0.5, sentiment_label = 'negative' WHERE tweet_id = 301")
    assert main([*base, "--out", str(tmp_path / "safe2")]) == 0
    with (tmp_path / "safe2" / "fact_tweet.csv").open(newline="") as f:
        assert {r["sentiment_compound"] for r in csv.DictReader(f) if r["tweet_id"] == "301"} == {"-0.5"}

    assert main([*base, "--out", str(tmp_path / "raw"), "--keep-formulas"]) == 0
    assert texts(tmp_path / "raw") == HOSTILE


def test_export_out_takes_a_file_uri(wh: Any, pg_url: str, schema: str, tmp_path: Path) -> None:
    small_warehouse(wh)
    target = tmp_path / "via uri"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        args = ["export", "--format", "csv", "--tables", "dim_user", "--database-url", pg_url, "--schema", schema]
        assert main([*args, "--out", target.as_uri()]) == 0
    finally:
        os.chdir(cwd)
    assert (target / "dim_user.csv").exists() and (target / "manifest.json").exists()
    assert not (tmp_path / "file:").exists()


def test_export_into_a_place_it_cannot_write_is_one_line_and_the_lake_code(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").write_text("a file, not a folder")
    code = main(["export", "--out", str(tmp_path / "plain" / "x"), "--database-url", pg_url, "--schema", schema])
    err = capsys.readouterr().err
    assert code == 7 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def report(pg_url: str, schema: str, out: str) -> list[str]:
    return ["report", "--database-url", pg_url, "--schema", schema, "--out", out]


def test_report_out_a_folder_is_one_line_and_exit_2(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(report(pg_url, schema, str(tmp_path)))
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a folder" in err


def test_report_out_under_a_file_is_one_line_and_exit_2(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").write_text("x")
    code = main(report(pg_url, schema, str(tmp_path / "plain" / "report.html")))
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_report_out_takes_a_file_uri(wh: Any, pg_url: str, schema: str, tmp_path: Path) -> None:
    small_warehouse(wh)
    out = tmp_path / "r.html"
    assert main([*report(pg_url, schema, out.as_uri()), "--lake", (tmp_path / "none").as_uri()]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_report_on_a_schema_typo_suggests_the_closest_warehouse_not_a_migrate(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = schema[:-1] + ("x" if schema[-1] != "x" else "y")
    for command in (
        report(pg_url, typo, str(tmp_path / "r.html")),
        ["export", "--out", str(tmp_path / "e"), "--database-url", pg_url, "--schema", typo],
    ):
        code = main(command)
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"did you mean --schema {schema}?" in err and "db migrate" not in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("argv", [["report", "--since", "2026-13-01"], ["export", "--out", "x", "--format", "xlsx"]])
def test_a_bad_option_is_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1, err
