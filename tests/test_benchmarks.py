"""The paper-reproduction benchmark's quick mode runs end to end."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_reproduce_paper_quick(tmp_path):
    out_csv, out_rst = tmp_path / "tables.csv", tmp_path / "tables.rst"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reproduce_paper.py"), "--quick", "--epochs", "1",
         "--csv", str(out_csv), "--rst", str(out_rst)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(out_csv.open()))
    methods = {row["method"] for row in rows}
    assert {"raw features", "random encoder", "LAV", "Soft-DTW", "TCC"} <= methods
    metrics = {row["metric"] for row in rows if row["method"] == "LAV"}
    assert {"classification@0.1", "classification@1.0", "progress_r2", "kendalls_tau", "ap@5"} <= metrics
    assert all(float(row["value"]) <= 1.0 for row in rows)
    assert all(0.0 <= float(row["value"]) for row in rows if row["metric"].startswith(("class", "ap@")))
    text = out_rst.read_text()
    assert "loss ablation (paper Tab. 1)" in text and "total wall time" in result.stdout
