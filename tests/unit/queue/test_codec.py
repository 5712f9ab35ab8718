"""The durable queue's job arguments: copied at submit, health data compressed apart, read back sealed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sahha_sync.adapters.queue._codec import Sealed, args_json, decode_args, freeze, loads
from sahha_sync.domain.errors import InvalidInputError

PAYLOAD = {"run_id": "r-1", "user_id": "u-1", "sahha_data": {"biomarkers": [{"value": 71.5, "type": "heart"}] * 50}}


def test_a_payload_comes_back_whole_from_the_stored_arguments() -> None:
    stored = args_json(freeze("archive", PAYLOAD, {"sahha_data"}))
    assert decode_args(loads(stored)) == PAYLOAD


def test_health_data_is_stored_compressed_apart_and_read_back_sealed() -> None:
    stored = args_json(freeze("archive", PAYLOAD, {"sahha_data"}))
    assert "71.5" not in stored
    assert json.loads(stored)["payload"] == {"run_id": "r-1", "user_id": "u-1"}
    read = loads(stored)
    assert isinstance(read["transient_data"], Sealed)
    assert "71.5" not in repr(read)
    assert "71.5" not in str(read)


def test_a_payload_without_transient_keys_has_no_transient_data() -> None:
    assert json.loads(args_json(freeze("job", {"n": 1}, {"sahha_data"}))) == {"payload": {"n": 1}}


@pytest.mark.parametrize("value", [object(), datetime(2026, 1, 1, tzinfo=UTC), {1: "int key"}])
def test_a_value_json_cannot_carry_as_it_is_is_refused(value: object) -> None:
    with pytest.raises(InvalidInputError, match="not JSON-serialisable") as caught:
        freeze("job", {"n": 1, "value": value}, ())
    assert caught.value.field == "payload"


def test_a_payload_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="must be a mapping"):
        freeze("job", [1, 2], ())  # type: ignore[arg-type]


def test_a_nul_character_that_jsonb_cannot_store_is_refused_unless_it_travels_compressed() -> None:
    with pytest.raises(InvalidInputError, match="NUL character"):
        freeze("job", {"note": "a\x00b"}, ())
    kept = freeze("job", {"note": "a\\u0000b"}, ())  # a backslash followed by "u0000" is just text
    assert decode_args(loads(args_json(kept))) == {"note": "a\\u0000b"}
    held = freeze("archive", {"run_id": "r", "sahha_data": {"note": "a\x00b"}}, {"sahha_data"})
    assert decode_args(loads(args_json(held)))["sahha_data"] == {"note": "a\x00b"}
