"""The analyst: turns a run's health data into a behaviour or circadian analysis (an LLM, or offline)."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.analysis import Analysis, AnalysisInput
from sahha_sync.domain.errors import SahhaSyncError


class AnalystError(SahhaSyncError):
    """The analysis could not be produced."""


class AnalystUnavailableError(AnalystError):
    """The model service failed (network, timeout, 429, 5xx); trying later may work."""

    retryable: ClassVar[bool] = True


class AnalystRefusedError(AnalystError):
    """The model refused to answer."""


class AnalystResponseError(AnalystError):
    """The model's answer was not the structured output asked for."""


@runtime_checkable
class Analyst(Protocol):
    name: str

    @abstractmethod
    async def analyse(self, analysis_input: AnalysisInput) -> Analysis:
        """An analysis of ``analysis_input``; raises ``AnalystError`` subclasses only."""


@runtime_checkable
class HashingAnalyst(Analyst, Protocol):
    """An ``Analyst`` that can say, without analysing, which ``input_hash`` its analysis of an input would carry.

    A separate protocol, so analysts without it (a host's own, test fakes) keep working: ``RunAnalysis`` checks
    ``isinstance(analyst, HashingAnalyst)`` and, for such an analyst, returns the stored result of the user's
    last run instead of calling it again when the hash is unchanged. The hash must cover everything the
    analysis depends on (the computed metrics and digest, the prompt version, the model).
    """

    @abstractmethod
    def input_hash(self, analysis_input: AnalysisInput) -> str:
        """The ``input_hash`` that ``analyse(analysis_input)`` would give its ``Analysis``."""
