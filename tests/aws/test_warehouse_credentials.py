"""The jobs' way to the warehouse as the stack sets it up: ``--connection_name`` names the Glue JDBC
Connection, whose ``SECRET_ID`` is the RDS *managed* master secret. RDS keeps only ``username`` and
``password`` in that secret (no host, port or dbname: those are in the connection's URL)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from common.warehouse.db import target_from_glue_connection


def test_connection_with_an_rds_managed_secret_gives_the_warehouse() -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(
            Name="rds!db-1234", SecretString=json.dumps({"username": "tweetlake", "password": "s3cr3t"})
        )["ARN"]
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_connection(
            ConnectionInput={
                "Name": "tweetlake-warehouse",
                "ConnectionType": "JDBC",
                "ConnectionProperties": {
                    "JDBC_CONNECTION_URL": "jdbc:postgresql://db.abc.us-east-1.rds.amazonaws.com:5432/tweetlake",
                    "SECRET_ID": arn,
                },
            }
        )
        target = target_from_glue_connection("tweetlake-warehouse", client=glue, secrets_client=secrets)
    assert (target.host, target.port, target.dbname) == ("db.abc.us-east-1.rds.amazonaws.com", 5432, "tweetlake")
    assert (target.user, target.password) == ("tweetlake", "s3cr3t")


def test_a_secret_without_host_alone_is_a_clear_error() -> None:
    from common.warehouse.db import DbTarget

    with pytest.raises(ValueError, match="--connection_name"):
        DbTarget.from_secret(json.dumps({"username": "u", "password": "p"}))
    full = DbTarget.from_secret(
        json.dumps({"username": "u", "password": "p", "host": "h", "port": 5433, "dbname": "d"})
    )
    assert (full.host, full.port, full.dbname, full.sslmode) == ("h", 5433, "d", "require")
