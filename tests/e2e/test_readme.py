"""Every Python sample in README.md runs as written (on the in-memory stores and the emulator)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sahha_sync.infrastructure import accessors

README = Path(__file__).resolve().parents[2] / "README.md"
SAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
SCRIPTS = [s for s in SAMPLES if not s.startswith("# test_")]
TEST_MODULES = [s for s in SAMPLES if s.startswith("# test_")]
PYTEST_CONFIG = re.findall(r"```toml\n(# pyproject\.toml\n.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.fixture(autouse=True)
def in_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "memory://")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_has_the_samples_this_test_runs() -> None:
    assert len(SCRIPTS) >= 3
    assert len(TEST_MODULES) >= 1
    assert len(PYTEST_CONFIG) == 1


@pytest.mark.parametrize("sample", SCRIPTS, ids=[f"sample-{i}" for i in range(len(SCRIPTS))])
def test_a_readme_sample_runs_as_written(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(sample, "README.md", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.strip()
    assert accessors._shared is None  # every sample releases what it used


@pytest.mark.parametrize("module", TEST_MODULES, ids=[f"suite-{i}" for i in range(len(TEST_MODULES))])
def test_a_readme_contract_suite_sample_passes_under_the_readmes_pytest_configuration(
    module: str, in_memory: Path
) -> None:
    name = module.splitlines()[0].removeprefix("# ").strip()
    (in_memory / name).write_text(module, encoding="utf-8")
    (in_memory / "pyproject.toml").write_text(PYTEST_CONFIG[0], encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name],
        cwd=in_memory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\d+ passed", result.stdout)
    assert "skipped" not in result.stdout
