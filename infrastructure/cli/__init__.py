"""The ``sahha-sync`` command line (typer + rich).

One module per command group, each with a ``register(app)`` function listed in ``COMMAND_MODULES``; adding a
group is adding a module. ``main()`` (the console script) turns every failure into one line on stderr and a
non-zero exit: 2 for bad input or settings, 1 for anything else.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer
from typer.exceptions import TyperException

from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.infrastructure.cli._common import EXIT_BAD_INPUT, EXIT_FAILED, PROG, fail, setup

COMMAND_MODULES = (
    "demo",
    "db",
    "emulator",
    "analyze",
    "sync",
    "worker",
    "jobs",
    "replay",
    "stats",
    "forget",
    "webhook",
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


@app.callback()
def _root(
    ctx: typer.Context,
    log_level: str = typer.Option(
        "warning", "--log-level", help="debug, info, warning or error (logs go to stderr).", show_default=True
    ),
    traceback: bool = typer.Option(False, "--traceback", help="Show the full traceback of an unexpected error."),
) -> None:
    """Settings come from the environment (see README.md); with nothing set, everything runs on embedded
    defaults: a SQLite file here, the in-memory queue, the Sahha emulator, the offline analyst."""
    if log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    setup(ctx, log_level.lower())


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: run the command line, never showing a traceback unless ``--traceback``."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
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
        fail(f"unexpected {type(exc).__name__}: {exc} (run with --traceback for details)", EXIT_FAILED)
    raise SystemExit(code if isinstance(code, int) else 0)


def _reraise_if_asked(args: Sequence[str]) -> None:
    if "--traceback" in args:
        raise


__all__ = ["app", "main"]
