"""examples/notebook.py runs end to end as a plain script (skipped without MovieLens)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import maitre

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.py"


def test_notebook_runs_as_a_script(tmp_path):
    try:
        maitre.load_movielens()
    except maitre.MaitreFileNotFoundError:
        pytest.skip("MovieLens 100K not found (set MAITRE_ML100K)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(NOTEBOOK)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "als" in done.stdout and "MB" in done.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "maitre-movielens-metrics.png").stat().st_size > 1000, done.stdout
    assert (tmp_path / "maitre-movielens-segments.png").stat().st_size > 1000, done.stdout
