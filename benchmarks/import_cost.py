"""What ``from sahha_sync.infrastructure import SahhaSync`` loads: modules, time, and which optional packages.

    python benchmarks/import_cost.py

Each figure comes from a fresh interpreter: the modules in ``sys.modules`` before and after the import, the
wall time of the import (the best of ``--repeat`` runs), and which of the packages that only some settings need
(the LLM client, the durable queue, the servers, the command line, migrations) were loaded. Then the same after
a ``SahhaSync`` on the embedded defaults answered one analysis.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

OPTIONAL = ("openai", "procrastinate", "psycopg", "psycopg_pool", "uvicorn", "typer", "rich", "alembic", "mako")

PROBE = """
import json, sys, time
before = len(sys.modules)
began = time.perf_counter()
from sahha_sync.infrastructure import SahhaSync
took = time.perf_counter() - began
loaded = lambda: sorted({m.split('.')[0] for m in sys.modules} & set(OPTIONAL))
figures = {"modules": len(sys.modules), "before": before, "seconds": took, "optional": loaded()}
if RUN:
    import asyncio, os
    from sahha_sync.infrastructure.settings import Settings
    async def once():
        settings = Settings(database_url=f"sqlite:///{os.getcwd()}/sync.db", queue="memory")
        async with SahhaSync(settings, recover_on_start=False) as sync:
            await sync.run_analysis("user-0001", "Peak Performer", "behavior_analysis")
    asyncio.run(once())
    figures.update(modules_after_run=len(sys.modules), optional_after_run=loaded())
print(json.dumps(figures))
"""


def probe(run: bool) -> dict[str, object]:
    code = f"OPTIONAL = {OPTIONAL!r}\nRUN = {run!r}\n" + PROBE
    env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir()}  # no SAHHA_* or OPENAI_* from the caller
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=folder, env=env)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    figures: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [probe(run=False) for _ in range(args.repeat)]
    best = min(runs, key=lambda f: float(f["seconds"]))  # type: ignore[arg-type]
    print(
        f"from sahha_sync.infrastructure import SahhaSync: {best['modules']} modules "
        f"({best['before']} before), {float(best['seconds']) * 1000:.0f} ms (best of {args.repeat})"  # type: ignore[arg-type]
    )
    print(f"  optional packages loaded: {', '.join(best['optional']) or 'none'}")  # type: ignore[arg-type]
    after = probe(run=True)
    print(
        f"after one analysis on the embedded defaults: {after['modules_after_run']} modules; optional packages "
        f"loaded: {', '.join(after['optional_after_run']) or 'none'}"  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
