"""Finding the PostgreSQL JDBC driver (``common/spark.py``) over fake disk layouts: Debian's path,
a Spark that ships it in ``$SPARK_HOME/jars``, and the Glue image's jar folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.spark import SparkSetupError, find_jdbc_jar


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TWEETLAKE_JDBC_JAR", "SPARK_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.m2 of the developer's


def touch(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")
    return str(path)


def test_the_glue_image_layout_finds_the_driver_spark_ships(tmp_path: Path) -> None:
    image = tmp_path / "image"
    touch(image / "usr/lib/spark/jars/spark-core_2.12-3.5.4-amzn-0.jar")
    jar = touch(image / "usr/lib/spark/jars/postgresql-42.7.3.jar")
    assert find_jdbc_jar(root=str(image)) == jar


def test_the_glue_jar_folders_are_searched_at_any_depth(tmp_path: Path) -> None:
    image = tmp_path / "image"
    touch(image / "usr/share/aws/glue/etl/jars/postgresql-42.6.0.jar")
    newest = touch(image / "usr/share/aws/glue/connectors/jdbc/postgresql-42.7.3.jar")
    touch(image / "usr/share/aws/glue/connectors/jdbc/postgresql-42.7.3-sources.jar")
    assert find_jdbc_jar(root=str(image)) == newest


def test_spark_home_jars_come_before_the_image_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "image"
    touch(image / "usr/share/aws/glue/etl/jars/postgresql-42.7.3.jar")
    spark_home = tmp_path / "spark"
    ours = touch(spark_home / "jars/postgresql-42.2.20.jar")
    monkeypatch.setenv("SPARK_HOME", str(spark_home))
    assert find_jdbc_jar(root=str(image)) == ours


def test_debian_comes_first_and_the_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "image"
    debian = touch(image / "usr/share/java/postgresql.jar")
    touch(image / "usr/lib/spark/jars/postgresql-42.7.3.jar")
    assert find_jdbc_jar(root=str(image)) == debian
    chosen = touch(tmp_path / "elsewhere/pg.jar")
    monkeypatch.setenv("TWEETLAKE_JDBC_JAR", chosen)
    assert find_jdbc_jar(root=str(image)) == chosen
    monkeypatch.setenv("TWEETLAKE_JDBC_JAR", str(tmp_path / "missing.jar"))
    with pytest.raises(SparkSetupError, match="not a file"):
        find_jdbc_jar(root=str(image))


def test_nothing_found_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(SparkSetupError, match=r"\$SPARK_HOME/jars/.*TWEETLAKE_JDBC_JAR"):
        find_jdbc_jar(root=str(tmp_path / "empty-image"))


def test_compose_mounts_no_aws_folder_and_passes_the_jar_setting() -> None:
    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker" / "compose.yaml").read_text())
    service = compose["services"]["glue-tests"]
    assert service["platform"] == "linux/amd64"  # AWS publishes the Glue image for amd64 only
    assert not any(".aws" in volume for volume in service["volumes"])  # Docker would create it, root-owned
    assert "TWEETLAKE_JDBC_JAR=${TWEETLAKE_JDBC_JAR:-}" in service["environment"]
