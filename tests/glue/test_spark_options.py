"""``TWEETLAKE_SPARK_JAVA_OPTIONS`` reaches local Spark's JVM (the suite sets it: tests/conftest.py)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from common.spark import local_spark_conf

pytestmark = pytest.mark.slow  # Spark's JVM


def test_the_java_options_setting_reaches_the_jvm_after_spark_s_own(spark: Any) -> None:
    wanted = os.environ["TWEETLAKE_SPARK_JAVA_OPTIONS"].split()
    assert wanted, "the suite sets options (tests/conftest.py)"
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert all(option in arguments for option in wanted), arguments
    assert arguments.index("-Duser.timezone=UTC") < arguments.index(wanted[0])


def test_without_the_setting_the_jvm_gets_only_spark_s_own_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWEETLAKE_SPARK_JAVA_OPTIONS")
    options = local_spark_conf()["spark.driver.extraJavaOptions"].split()
    assert options[0] == "-Duser.timezone=UTC" and not [o for o in options if o.startswith("-XX")]
