"""An S3 client whose IAM user may do only what a policy allows, on moto enforcing IAM (in-process)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3


def limited_s3_client(*statements: dict[str, Any]) -> Any:
    """Call inside ``mock_aws()``; the denials apply inside ``enable_iam_authentication()``."""
    iam = boto3.client("iam", region_name="us-east-1")
    user = f"limited-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="only-this",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=None,
    )
