"""The monitoring figures (``OperationsStats.to_dict()``) as rich tables for people and as Prometheus text.

Prometheus labels are kept to small, fixed sets so a scrape stays cheap however many users there are:
``table`` (3), ``change`` (3), ``state`` (4), ``outcome``, ``analysis_type`` (2), ``older_than`` (5 buckets),
and ``reason``/``kind`` (the class name of an error: a short, closed list). No user id is ever a label:
freshness is exported per analysis type as the number of users, the oldest age, and how many users' newest
archived data is older than 1 h, 6 h, 24 h, 72 h and 168 h. Rows per day are not exported either (a day label
grows without bound); ``rate(sahha_sync_rows_total[1d])`` gives them. Counters are totals over the event store,
so they only grow, except when a user is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from rich.console import Group
from rich.table import Table

PREFIX = "sahha_sync"
AGE_BUCKETS = (("1h", 3600), ("6h", 6 * 3600), ("24h", 86400), ("72h", 3 * 86400), ("168h", 7 * 86400))
TABLES = ("biomarkers", "scores", "archetypes")


# -- Prometheus ---------------------------------------------------------------------------------------------


class _Exposition:
    """The figures as ``prometheus_client`` metric families: a collector for a registry of its own."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Any, Mapping[str, str]]]) -> None:
        present = [(value, labels) for value, labels in samples if value is not None]
        if not present:
            return
        keys = list(present[0][1])
        family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
            f"{PREFIX}_{name}", help_text, labels=keys
        )
        for value, labels in present:
            family.add_metric([str(labels[key]) for key in keys], value)
        self.families.append(family)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def to_prometheus(figures: Mapping[str, Any]) -> str:
    """The Prometheus text exposition format (version 0.0.4) of ``figures``."""
    return generate_latest(registry_of(figures)).decode("utf-8")


def write_textfile(figures: Mapping[str, Any], path: str) -> None:
    """Write ``figures`` for node_exporter's textfile collector: to a temporary file beside ``path``, renamed
    over it, so a scrape never reads half a file."""
    write_to_textfile(path, registry_of(figures))


def registry_of(figures: Mapping[str, Any]) -> CollectorRegistry:
    """A registry holding ``figures`` (nothing else: not this process's own default metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_exposition(figures))
    return registry


def _exposition(figures: Mapping[str, Any]) -> _Exposition:
    out = _Exposition()
    runs, api, archival, storage = figures["runs"], figures["sahha_api"], figures["archival"], figures["storage"]
    out.metric(
        "runs_total",
        "counter",
        "Analysis runs by step, from the event store.",
        ((n, {"event": event}) for event, n in runs.items()),
    )
    _plain(out, api, (("fetches", "sahha_fetches_total", "Fetches from Sahha that returned data."),))
    out.metric(
        "sahha_fetch_failures_total",
        "counter",
        "Fetches from Sahha that failed, by error class.",
        ((n, {"kind": kind}) for kind, n in api["fetch_failures"].items()),
    )
    _plain(out, api, API_METRICS)
    _plain(out, api.get("client"), CLIENT_METRICS)
    _plain(out, api.get("account"), ACCOUNT_METRICS)  # the account's shared rate budget (on a Postgres database)
    out.metric(
        "archival_total",
        "counter",
        "Archival jobs by outcome, from the event store.",
        ((archival[k], {"outcome": k}) for k in ("requested", "synced", "failed_attempts", "failed_for_good")),
    )
    out.metric(
        "archival_failures_total",
        "counter",
        "Failed archival attempts, by error class.",
        ((n, {"reason": reason}) for reason, n in archival["failures_by_reason"].items()),
    )
    _plain(out, archival, ARCHIVAL_METRICS)
    out.metric(
        "rows_total",
        "counter",
        "Archive rows written, by table and change (unchanged: left alone).",
        (
            (storage[change][t], {"table": t, "change": change})
            for change in ("inserted", "updated", "unchanged")
            for t in TABLES
        ),
    )
    out.metric(
        "webhook_rows_inserted_total",
        "counter",
        "Archive rows inserted from Sahha's webhooks, by table.",
        ((storage["inserted_by_webhooks"][t], {"table": t}) for t in TABLES),
    )
    out.metric("quarantined_records_total", "counter", "Records kept in quarantine.", [(storage["quarantined"], {})])
    out.metric(
        "runs_by_sync_state",
        "gauge",
        "Runs by their current sync state (tracking rows).",
        ((n, {"state": state}) for state, n in figures["sync_states"].items()),
    )
    _freshness(out, figures["freshness"])
    _queue(out, figures.get("queue"))
    return out


# (key in the figures, metric name, help) of the figures exported without labels, section by section.
API_METRICS = (
    ("fetch_success_rate", "sahha_fetch_success_ratio", "Share of Sahha fetches that succeeded."),
    ("archive_fallbacks", "archive_fallbacks_total", "Runs whose data came from the archive because Sahha failed."),
    ("requests", "sahha_requests_total", "HTTP requests to Sahha (token requests included), from the events."),
    ("successes", "sahha_request_successes_total", "Requests to Sahha that succeeded, from the events."),
    ("failed_requests", "sahha_request_failures_total", "Failed requests to Sahha, from the events."),
    ("retries", "sahha_retries_total", "Requests to Sahha retried, from the events."),
    ("rate_limited", "sahha_rate_limited_total", "429 answers from Sahha, from the events."),
    ("token_refreshes", "sahha_token_refreshes_total", "Sahha account tokens fetched, from the events."),
    ("success_rate", "sahha_request_success_ratio", "Share of requests to Sahha that succeeded, from the events."),
)
CLIENT_METRICS = (
    ("requests", "sahha_process_requests_total", "HTTP requests to Sahha by this process."),
    ("retries", "sahha_process_retries_total", "Requests to Sahha retried by this process."),
    ("rate_limited", "sahha_process_rate_limited_total", "429 answers from Sahha to this process."),
    ("token_refreshes", "sahha_process_token_refreshes_total", "Sahha account tokens fetched by this process."),
)
ACCOUNT_METRICS = (
    ("requests", "sahha_account_requests_total", "Requests to Sahha by every process of the account."),
    ("rate_limited", "sahha_account_rate_limited_total", "429 answers to every process of the account."),
    ("request_rate", "sahha_account_request_rate", "Requests to Sahha per second, every process."),
    ("rate_limited_rate", "sahha_account_rate_limited_rate", "429 answers per second, every process."),
    ("paused_for", "sahha_account_paused_seconds", "Seconds every process still waits for a Retry-After."),
    ("processes", "sahha_account_processes", "Processes that drew from the shared budget, last minute."),
)
ARCHIVAL_METRICS = (
    ("success_rate", "archival_success_ratio", "Synced runs over finished runs (synced or failed for good)."),
    ("dead_jobs", "dead_jobs", "Jobs that used up their attempts."),
)


def _plain(out: _Exposition, section: Mapping[str, Any] | None, metrics: Iterable[tuple[str, str, str]]) -> None:
    """One unlabelled metric per row of ``metrics`` from ``section`` (nothing when the section is absent): a
    counter when its name ends in ``_total``, as Prometheus names counters, else a gauge."""
    if not section:
        return
    for key, name, help_text in metrics:
        kind = "counter" if name.endswith("_total") else "gauge"
        out.metric(name, kind, help_text, [(section.get(key), {})])


def _freshness(out: _Exposition, rows: list[Mapping[str, Any]]) -> None:
    types = sorted({row["analysis_type"] for row in rows})
    by_type = {t: [row for row in rows if row["analysis_type"] == t] for t in types}
    out.metric(
        "freshness_users",
        "gauge",
        "Users with runs, by analysis type.",
        ((len(by_type[t]), {"analysis_type": t}) for t in types),
    )
    out.metric(
        "freshness_never_archived_users",
        "gauge",
        "Users with runs but no archived data yet (none synced, or Sahha had no record for them).",
        ((sum(r["age_seconds"] is None for r in by_type[t]), {"analysis_type": t}) for t in types),
    )
    ages = {t: [r["age_seconds"] for r in by_type[t] if r["age_seconds"] is not None] for t in types}
    out.metric(
        "freshness_oldest_age_seconds",
        "gauge",
        "Age of the stalest user's newest archived data.",
        ((max(ages[t]), {"analysis_type": t}) for t in types if ages[t]),
    )
    out.metric(
        "freshness_users_older_than",
        "gauge",
        "Users whose newest archived data is older than a bound.",
        (
            (sum(a > seconds for a in ages[t]), {"analysis_type": t, "older_than": name})
            for t in types
            for name, seconds in AGE_BUCKETS
        ),
    )


def _queue(out: _Exposition, queue: Mapping[str, Any] | None) -> None:
    if not queue:
        return
    out.metric(
        "queue_jobs",
        "gauge",
        "Jobs in the queue, by state.",
        ((queue.get(s), {"state": s}) for s in ("queued", "running", "dead")),
    )
    out.metric("queue_completed_total", "counter", "Jobs the queue completed.", [(queue.get("completed"), {})])
    out.metric("queue_failed_attempts_total", "counter", "Job attempts that failed.", [(queue.get("failed"), {})])
    out.metric("queue_retries_total", "counter", "Job attempts retried.", [(queue.get("retries"), {})])
    out.metric(
        "queue_oldest_queued_age_seconds",
        "gauge",
        "Age of the oldest queued job.",
        [(queue.get("oldest_queued_age_seconds"), {})],
    )


# -- tables ---------------------------------------------------------------------------------------------------


def _figures_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, _shown(value))
    return table


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:,.1f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return str(value)


def _age(seconds: float | None, *, no_data: bool = False) -> str:
    if no_data:
        return "no data"
    if seconds is None:
        return "never archived"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def to_tables(figures: Mapping[str, Any], *, max_freshness_rows: int = 50) -> Group:
    """Rich tables: runs and Sahha, archival, storage growth, freshness, and the queue."""
    api, archival, storage = figures["sahha_api"], figures["archival"], figures["storage"]
    client = api.get("client") or {}
    sahha_rows = [
        ("fetches", api["fetches"]),
        ("fetch failures", api["fetch_failures"]),
        ("fetch success rate", api["fetch_success_rate"]),
        ("archive fallbacks", api["archive_fallbacks"]),
        ("requests", api.get("requests")),
        ("request success rate", api.get("success_rate")),
        ("failed requests", api.get("failed_requests")),
        ("retries", api.get("retries")),
        ("429s", api.get("rate_limited")),
        ("token refreshes", api.get("token_refreshes")),
    ]
    sahha_rows += [
        (f"this process: {k.replace('_', ' ')}", client.get(k))
        for k in ("requests", "success_rate", "retries", "rate_limited", "token_refreshes")
        if k in client
    ]
    sahha_rows += _account_rows(api.get("account"))
    parts: list[Any] = [
        _figures_table("runs", figures["runs"].items()),
        _figures_table("Sahha API", sahha_rows),
        _figures_table("archival", [(k.replace("_", " "), v) for k, v in archival.items()]),
        _storage_table(storage),
        _figures_table("runs by sync state", figures["sync_states"].items()),
        _freshness_table(figures["freshness"], max_freshness_rows),
    ]
    if figures.get("queue") is not None:
        parts.append(_figures_table("queue", figures["queue"].items()))
    return Group(*parts)


def _account_rows(account: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    if not account:
        return []
    return [
        ("all processes: requests/s (last minute)", f"{account['request_rate']:.2f}"),
        ("all processes: requests", account["requests"]),
        ("all processes: 429s", account["rate_limited"]),
        ("all processes: 429s/s (last minute)", f"{account['rate_limited_rate']:.3f}"),
        ("all processes: paused for", f"{account['paused_for']:.1f} s"),
        ("all processes: processes (last minute)", account["processes"]),
    ]


def _storage_table(storage: Mapping[str, Any]) -> Table:
    table = Table(title="storage growth (rows)", title_justify="left")
    table.add_column("day / change")
    for name in TABLES:
        table.add_column(name, justify="right")
    for day, counts in storage["inserted_by_day"].items():
        table.add_row(f"{day} inserted", *(str(counts[t]) for t in TABLES))
    for change in ("inserted", "updated", "unchanged", "inserted_by_webhooks"):
        table.add_row(f"all {change.replace('_', ' ')}", *(str(storage[change][t]) for t in TABLES))
    table.add_row("quarantined records", str(storage["quarantined"]), "", "")
    return table


def _freshness_table(rows: list[Mapping[str, Any]], limit: int) -> Table:
    stalest = sorted(rows, key=lambda r: (r["age_seconds"] is not None, -(r["age_seconds"] or 0)))
    title = "freshness (stalest first" + (f", {limit} of {len(rows)})" if len(rows) > limit else ")")
    table = Table(title=title, title_justify="left")
    for column in ("user", "analysis", "archived through", "age", "runs", "pending", "failed"):
        table.add_column(column, justify="right" if column in ("runs", "pending", "failed") else "left")
    for row in stalest[:limit]:
        through = row["archived_through"]
        table.add_row(
            row["user_id"],
            row["analysis_type"].removesuffix("_analysis"),
            "-" if through is None else through[:16].replace("T", " "),
            _age(row["age_seconds"], no_data=row.get("no_data", False)),
            str(row["runs"]),
            str(row["pending"]),
            str(row["failed"]),
        )
    return table
