"""The edge of sahha-sync: settings, the composition root, logging set-up, the CLI and the host-facing API.

    from sahha_sync.infrastructure import SahhaSync, get_sahha_client, get_job_queue, run_analysis

``SahhaSync`` is the host-facing object; the seed's accessors and agents are handles on it.

The names below are imported on first access, so ``import sahha_sync.infrastructure.settings`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sahha_sync.infrastructure.accessors import aclose as aclose
    from sahha_sync.infrastructure.accessors import get_archetype_tracker as get_archetype_tracker
    from sahha_sync.infrastructure.accessors import get_archival_service as get_archival_service
    from sahha_sync.infrastructure.accessors import get_job_queue as get_job_queue
    from sahha_sync.infrastructure.accessors import get_run_analysis as get_run_analysis
    from sahha_sync.infrastructure.accessors import get_sahha_client as get_sahha_client
    from sahha_sync.infrastructure.accessors import run_analysis as run_analysis
    from sahha_sync.infrastructure.accessors import shutdown as shutdown
    from sahha_sync.infrastructure.agents import BehaviorAnalysisAgent as BehaviorAnalysisAgent
    from sahha_sync.infrastructure.agents import CircadianAnalysisAgent as CircadianAnalysisAgent
    from sahha_sync.infrastructure.agents import OnDemandAnalysisService as OnDemandAnalysisService
    from sahha_sync.infrastructure.container import Container as Container
    from sahha_sync.infrastructure.container import build_container as build_container
    from sahha_sync.infrastructure.logging import configure_logging as configure_logging
    from sahha_sync.infrastructure.logging import redact_sensitive as redact_sensitive
    from sahha_sync.infrastructure.runtime import SahhaSync as SahhaSync
    from sahha_sync.infrastructure.settings import Settings as Settings
    from sahha_sync.infrastructure.settings import SettingsError as SettingsError

_EXPORTS = {
    "aclose": "accessors",
    "get_archetype_tracker": "accessors",
    "get_archival_service": "accessors",
    "get_job_queue": "accessors",
    "get_run_analysis": "accessors",
    "get_sahha_client": "accessors",
    "run_analysis": "accessors",
    "shutdown": "accessors",
    "BehaviorAnalysisAgent": "agents",
    "CircadianAnalysisAgent": "agents",
    "OnDemandAnalysisService": "agents",
    "Container": "container",
    "build_container": "container",
    "configure_logging": "logging",
    "redact_sensitive": "logging",
    "SahhaSync": "runtime",
    "Settings": "settings",
    "SettingsError": "settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
