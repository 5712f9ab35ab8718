"""The stored analyses keep their contract in memory, on SQLite and on Postgres, alone and in a unit of work."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.memory import InMemoryAnalysisResultStore, InMemoryStores
from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.application.ports import AnalysisResultStore, UnitOfWorkFactory
from sahha_sync.testing.analysis_results import AnalysisResultStoreContract, AnalysisResultsUnitOfWorkContract
from tests.sql_stores import Committed


class TestInMemoryAnalysisResultStore(AnalysisResultStoreContract):
    @pytest.fixture
    def analysis_results(self) -> AnalysisResultStore:
        return InMemoryAnalysisResultStore()


class TestInMemoryUnitOfWorkWithAnalysisResults(AnalysisResultsUnitOfWorkContract):
    @pytest.fixture
    def unit_of_work_factory(self) -> UnitOfWorkFactory:
        return InMemoryStores().unit_of_work


class TestSqlAnalysisResultStore(AnalysisResultStoreContract):
    @pytest.fixture
    async def analysis_results(self, sql_engine: AsyncEngine) -> AnalysisResultStore:
        return cast(AnalysisResultStore, Committed(sql_engine, "analysis_results"))


class TestSqlUnitOfWorkWithAnalysisResults(AnalysisResultsUnitOfWorkContract):
    @pytest.fixture
    async def unit_of_work_factory(self, sql_engine: AsyncEngine) -> UnitOfWorkFactory:
        return sql_unit_of_work_factory(sql_engine)
