"""The first command block of README.md's "Operating it" runs as written, in an empty folder on the embedded
defaults, each command exiting 0."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import run_clean

README = Path(__file__).resolve().parents[2] / "README.md"


def operations_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Operating it") :]
    found = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_operations_commands_of_the_readme_run_as_written(tmp_path: Path) -> None:
    block = operations_block()
    assert block.count("sahha-sync ") >= 9
    result = run_clean(["bash", "-euo", "pipefail", "-c", block], tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "forgot user-0003" in result.stdout
    assert "# TYPE sahha_sync_rows_total counter" in (tmp_path / "sahha_sync.prom").read_text(encoding="utf-8")
