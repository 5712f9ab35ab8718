"""The three profile routes: parameters checked as Sahha checks them, records filtered and serialised."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from sahha_sync.adapters.sahha.emulator.asgi import Request, Response
from sahha_sync.adapters.sahha.emulator.population import Population
from sahha_sync.adapters.sahha.emulator.wire import (
    Json,
    archetype_json,
    biomarker_json,
    error_json,
    malformed_biomarker,
    malformed_score,
    score_json,
)
from sahha_sync.domain import FetchWindow, HealthRecords


class BadRequest(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("bad request")
        self.errors = errors


def _datetime_param(request: Request, name: str) -> datetime:
    raw = request.param(name)
    if raw is None or not raw.strip():
        raise BadRequest({name: [f"'{name}' is required."]})
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        # A "+" offset sent unencoded arrives as a space and lands here, as it does on Sahha's server.
        raise BadRequest({name: [f"'{name}' is not a valid ISO-8601 date-time."]}) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _window(request: Request) -> FetchWindow:
    start = _datetime_param(request, "startDateTime")
    end = _datetime_param(request, "endDateTime")
    if end <= start:
        raise BadRequest({"endDateTime": ["'endDateTime' must be after 'startDateTime'."]})
    return FetchWindow(start, end)


class ProfileRoutes:
    """Answers ``biomarker``, ``score`` and ``archetypes`` requests for one external id."""

    def __init__(self, population: Population, *, malformed_rate: float, rng: random.Random) -> None:
        self.population = population
        self.malformed_rate = malformed_rate
        self._rng = rng
        self._empty = random.Random(f"empty:{rng.random()}")

    async def answer(self, route: str, external_id: str, request: Request, location: str, now: datetime) -> Response:
        """The response to one profile request, built in steps of a millisecond or so with the event loop's other
        tasks let in between (the emulator may serve in a host's loop): the days drawn, the records read, the
        records serialised, the answer encoded."""
        try:
            window = _window(request)
            items = await getattr(self, f"_{route}")(external_id, window, request, now)
        except BadRequest as exc:
            return Response.json(400, error_json(400, "Bad Request", location, exc.errors))
        if not items:  # Sahha answers nothing found with 204 or with 200 and an empty array
            return Response(204) if self._empty.random() < 0.5 else Response.json(200, [])
        await asyncio.sleep(0)
        return Response.json(200, items)

    async def _records(
        self, external_id: str, window: FetchWindow, now: datetime, *, include_archetypes: bool
    ) -> HealthRecords:
        """The user's records of ``window`` available by ``now``. A population that can draw its days ahead
        (``prepare``) draws them first, one at a time, so a cold user never holds the event loop for long."""
        await asyncio.sleep(0)  # the request's arrival was a step of its own
        prepare = getattr(self.population, "prepare", None)
        if prepare is not None:
            await prepare(external_id, window, include_archetypes=include_archetypes)
        records = self.population.records_for(external_id, window, as_of=now, include_archetypes=include_archetypes)
        await asyncio.sleep(0)
        return records

    async def _biomarker(self, external_id: str, window: FetchWindow, request: Request, now: datetime) -> list[Json]:
        categories, types = request.query.get("categories"), request.query.get("types")
        if not categories and not types:  # categories alone (or types alone) are answered
            raise BadRequest({"categories": ["At least one value of 'categories' or 'types' is required."]})
        records = await self._records(external_id, window, now, include_archetypes=False)
        items = [
            biomarker_json(b)
            for b in records.biomarkers
            if (not categories or b.category in categories) and (not types or b.type in types)
        ]
        if items and self._rng.random() < self.malformed_rate:
            items.append(malformed_biomarker(self._rng, self._rng.choice(items)))
        return items

    async def _score(self, external_id: str, window: FetchWindow, request: Request, now: datetime) -> list[Json]:
        types = request.query.get("types")
        records = await self._records(external_id, window, now, include_archetypes=False)
        items = [score_json(s) for s in records.scores if not types or s.type in types]
        if items and self._rng.random() < self.malformed_rate:
            items.append(malformed_score(self._rng, self._rng.choice(items)))
        return items

    async def _archetypes(self, external_id: str, window: FetchWindow, request: Request, now: datetime) -> list[Json]:
        names, periodicity = request.query.get("name"), request.param("periodicity")
        records = await self._records(external_id, window, now, include_archetypes=True)
        return [
            archetype_json(a)
            for a in records.archetypes
            if (not names or a.name in names) and (periodicity is None or a.periodicity == periodicity)
        ]
