"""A state document that cannot be read names itself and says how to recover."""

from __future__ import annotations

import pytest

from common.lake import Lake
from ingestion.errors import StateCorrupt
from ingestion.registry import REGISTRY_KEY
from ingestion.state import read_json, update_json


@pytest.mark.parametrize("body", [b'{"users": {"nasa": {"user_id": "1"', b"\xff\xfe", b"not json"])
def test_a_truncated_state_document_names_itself_and_how_to_recover(local_lake: Lake, body: bytes) -> None:
    local_lake.write_if(REGISTRY_KEY, body, None)
    with pytest.raises(StateCorrupt, match=r"state/registry\.json cannot be read .*users add"):
        read_json(local_lake, REGISTRY_KEY)
    with pytest.raises(StateCorrupt, match=r"state/registry\.json"):
        update_json(local_lake, REGISTRY_KEY, lambda doc: (doc, None))
