"""The ``sahha-sync`` command line (typer + rich).

One module per command group; ``COMMANDS`` lists each command (name, function, help) or group (a typer app
of its own) in the order the help shows them: adding a group is adding a module and its line. ``main()`` (the
console script) turns every failure into one line on stderr and a non-zero exit: 2 for bad input or settings,
1 for anything else (a failed fetch or archival included). The global options ``--log-level`` and
``--traceback`` may come before or after the command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

try:
    import typer
    from typer.exceptions import TyperException
except ImportError as missing:  # the library alone does not install the command line's packages
    needed = "the sahha-sync command line needs its extra: pip install 'sahha-sync[cli]'"
    raise ImportError(f"{needed} ({missing})") from None

from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.infrastructure.cli import (
    analyze,
    db,
    demo,
    emulator,
    forget,
    jobs,
    replay,
    stats,
    sync,
    webhook,
    worker,
)
from sahha_sync.infrastructure.cli._common import EXIT_BAD_INPUT, EXIT_FAILED, PROG, fail, setup


class Command(NamedTuple):
    name: str
    run: Callable[..., Any]
    help: str
    short_help: str | None = None


COMMANDS: tuple[Command | typer.Typer, ...] = (
    Command("demo", demo.demo, demo.HELP),
    db.db,
    Command("emulator", emulator.emulator, emulator.HELP),
    Command("analyze", analyze.analyze, analyze.HELP, "Analyse one user now; archive in the background."),
    Command("sync", sync.sync, sync.HELP, "Backfill many users incrementally, one shared Sahha client."),
    Command("worker", worker.worker, worker.WORKER_HELP, "Run jobs from the durable queue until stopped."),
    Command("recover", worker.recover, worker.RECOVER_HELP, "Re-submit archival jobs that were lost."),
    jobs.jobs,
    Command("replay", replay.replay, replay.HELP, "Rebuild the tracking rows from the event store."),
    Command("stats", stats.stats, stats.HELP, "Monitoring figures: table, JSON or Prometheus."),
    Command("forget-user", forget.forget_user, forget.HELP, "Erase a user in one transaction."),
    webhook.webhook,
)

app = typer.Typer(
    name=PROG,
    help="Always-fresh wearable data from Sahha, analysed at once and archived in the background.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


GLOBAL_FLAGS = ("--traceback",)
GLOBAL_OPTIONS = ("--log-level",)


def _show_version(asked: bool) -> None:
    if asked:
        try:
            print(f"{PROG} {version('sahha-sync')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            print(f"{PROG} (not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    log_level: str = typer.Option(
        "warning", "--log-level", help="debug, info, warning or error (logs go to stderr).", show_default=True
    ),
    traceback: bool = typer.Option(False, "--traceback", help="Show the full traceback of an unexpected error."),
    _version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Settings come from the environment (see README.md); with nothing set, everything runs on embedded
    defaults: a SQLite file here, the in-memory queue, the Sahha emulator, the offline analyst."""
    if log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    setup(ctx, log_level.lower())


for _entry in COMMANDS:
    if isinstance(_entry, Command):
        app.command(_entry.name, help=_entry.help, short_help=_entry.short_help)(_entry.run)
    else:
        app.add_typer(_entry)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: run the command line, never showing a traceback unless ``--traceback``."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv)) or ["--help"]
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        fail("aborted", 130)
    except TyperException as exc:  # usage errors: unknown command or option, a bad option value
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group without its command: the help was shown
            print(exc.format_message(), end="")
            raise SystemExit(0) from None
        fail(exc.format_message(), EXIT_BAD_INPUT)
    except (InvalidInputError, ValueError) as exc:
        _reraise_if_asked(args)
        fail(str(exc), EXIT_BAD_INPUT)
    except SahhaSyncError as exc:
        _reraise_if_asked(args)
        fail(str(exc), EXIT_FAILED)
    except Exception as exc:
        _reraise_if_asked(args)
        fail(f"{_unexpected(exc)} (run with --traceback for details)", EXIT_FAILED)
    raise SystemExit(code if isinstance(code, int) else 0)


def _unexpected(exc: Exception) -> str:
    """An error no port translated, in words that hold no health value and no secret: a database error by the
    driver's class and SQLSTATE (its text may quote a statement and its parameters), anything else by its class
    alone (``--traceback`` shows the rest)."""
    named = f"unexpected {type(exc).__name__}"
    if type(exc).__module__.split(".")[0] in _DATABASE_PACKAGES:
        from sahha_sync.adapters.sql.errors import describe

        return describe(exc, f"{named}: a database call")
    return named


_DATABASE_PACKAGES = frozenset({"sqlalchemy", "psycopg", "sqlite3", "aiosqlite"})


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with ``--log-level LEVEL`` and ``--traceback`` moved in front of the command, wherever they were
    given (up to a ``--``), so ``sahha-sync stats --log-level info`` works as ``sahha-sync --log-level info stats``."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in GLOBAL_FLAGS or arg.startswith(tuple(f"{o}=" for o in GLOBAL_OPTIONS)):
            hoisted.append(arg)
        elif arg in GLOBAL_OPTIONS and index + 1 < len(args):
            hoisted.extend(args[index : index + 2])
            index += 1
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest


def _reraise_if_asked(args: Sequence[str]) -> None:
    if "--traceback" in args:
        raise


__all__ = ["app", "main"]
