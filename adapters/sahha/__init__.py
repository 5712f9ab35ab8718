"""The Sahha REST API as a ``HealthDataSource`` (``SahhaHealthDataSource``), and an emulator of it
(``sahha_sync.adapters.sahha.emulator``)."""

from sahha_sync.adapters.sahha.catalog import ARCHETYPE_NAMES, BIOMARKER_CATEGORIES, BIOMARKER_TYPES, SCORE_TYPES
from sahha_sync.adapters.sahha.problems import SahhaProblem
from sahha_sync.adapters.sahha.source import DEFAULT_BASE_URL, SahhaHealthDataSource
from sahha_sync.adapters.sahha.stats import SahhaStats

__all__ = [
    "ARCHETYPE_NAMES",
    "BIOMARKER_CATEGORIES",
    "BIOMARKER_TYPES",
    "DEFAULT_BASE_URL",
    "SCORE_TYPES",
    "SahhaHealthDataSource",
    "SahhaProblem",
    "SahhaStats",
]
