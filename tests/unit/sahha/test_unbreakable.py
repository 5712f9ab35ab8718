"""Whatever the network or the API does, the client returns everything or raises a port error."""

import asyncio
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.adapters.sahha.emulator import SahhaEmulator

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["type", "value", "valueType", "startDateTime", "endDateTime", "score", "scoreDateTime", "factors", "name", "id"]
)
record_like = st.dictionaries(field_names, json_values, max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["biomarker", "score", "archetype"]), st.lists(json_values | record_like, max_size=6))
def test_any_json_items_are_parsed_or_quarantined_and_never_raise(kind, items):
    good, bad = parse_records(kind, items, "user-1", lambda: datetime(2026, 1, 1, tzinfo=UTC))
    assert len(good) + len(bad) == len(items)
    raws = [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items]
    for quarantined in bad:
        assert quarantined.raw in raws  # the raw text is kept whole
        assert quarantined.reason.startswith(kind)


async def test_nothing_is_lost_when_a_third_of_the_answers_fail_or_time_out(make_source, population, week):
    emulator = SahhaEmulator(population, error_rate=0.3, timeout_rate=0.05, malformed_rate=0.3, clock=lambda: week.end)
    source = make_source(emulator, max_retries=10, request_timeout=0.05, max_concurrency=4)
    users = population.profile_ids
    results = await asyncio.gather(*(source.fetch(u, week, include_archetypes=True) for u in users))
    for user, records in zip(users, results, strict=True):
        truth = emulator.ground_truth(user, week)
        assert records.biomarkers == truth.biomarkers
        assert records.scores == truth.scores
        assert records.archetypes == truth.archetypes
    stats = source.stats()
    assert stats.failures.get("server_error", 0) > 0
    assert stats.failed_fetches == 0
