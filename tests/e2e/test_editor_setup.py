"""pyright, the engine behind VS Code's Python support, reads the project's ``[tool.pyright]`` settings and
resolves every ``sahha_sync`` import to the files of this tree; an import that resolves nowhere is an error it
exits non-zero on (CI runs it over the whole repository)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = """\
from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.infrastructure.runtime import SahhaSync
from sahha_sync.testing.records import biomarker
import sahha_sync.nowhere

print(SahhaSyncError, SahhaSync, biomarker)
"""


def test_pyright_resolves_the_sahha_sync_packages_and_fails_on_an_import_that_resolves_nowhere(
    tmp_path: Path,
) -> None:
    sample = tmp_path / "host_module.py"
    sample.write_text(SAMPLE, encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["PYRIGHT_PYTHON_IGNORE_WARNINGS"] = "1"
    result = subprocess.run(
        [str(bin_dir / "pyright"), "--outputjson", "-p", str(ROOT / "pyproject.toml"), str(sample)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    unresolved = [d["message"] for d in report["generalDiagnostics"] if d.get("rule") == "reportMissingImports"]
    assert unresolved == ['Import "sahha_sync.nowhere" could not be resolved']
    assert report["summary"]["errorCount"] == 1
    assert result.returncode == 1
