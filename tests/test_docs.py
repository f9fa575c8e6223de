"""The docs cannot drift from the code: every shell example of README.md and docs/ runs (or, if long,
parses against the real command line), as `make docs-check` does."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_shell_example_in_the_docs_runs_or_parses():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_check.py")], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "blocks ran" in done.stdout


def test_the_readme_stays_short_and_rounds_are_named_by_number():
    assert len((ROOT / "README.md").read_text().splitlines()) < 200
    for path in [ROOT / "README.md", ROOT / "Makefile", *(ROOT / "docs").glob("*.md"),
                 ROOT / "rdccodec" / "weights" / "default.json"]:
        assert not re.search(r"train-s\d|runs/s\d", path.read_text()), path  # the old per-round names
