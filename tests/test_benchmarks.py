"""The paper-reproduction benchmark's quick mode runs end to end and reports
what it computed: the raw-feature scores are recomputed here, the tables
print the CSV's numbers, and training changes the encoder."""

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
    every = {(row["method"], row["protocol"], row["metric"]): float(row["value"]) for row in rows}
    assert len(every) == len(rows)  # one run per method, protocol and metric
    assert {row["action"] for row in rows} == {"golf_swing"} and {row["seed"] for row in rows} == {"0"}
    assert {protocol for _, protocol, _ in every} == {"none", "crop", "warp"}
    value = {(method, metric): v for (method, protocol, metric), v in every.items() if protocol == "none"}
    methods = {method for method, _ in value}
    assert methods == {"raw features", "clock", "untrained encoder", "LAV", "Soft-DTW", "TCC", "TCN"}
    main_metrics = {metric for method, metric in value if method == "LAV"}
    assert main_metrics == set(RAW_METRICS)
    # the clock keeps its order under re-timing, not its phases
    assert every["clock", "crop", "kendalls_tau"] > 0.95
    assert every["clock", "crop", "phase_agreement"] < every["clock", "none", "phase_agreement"]
    # the raw-feature rows are the evaluation of the bundled joints, recomputed here
    expected = _raw_feature_scores()
    for metric in RAW_METRICS:
        assert value["raw features", metric] == expected[metric], metric
    # training moved the encoder away from its initial weights
    assert value["LAV", "kendalls_tau"] != value["untrained encoder", "kendalls_tau"]
    # the tables print the CSV's numbers
    text = out_rst.read_text()
    assert "loss ablation (paper Tab. 1)" in text and "total wall time" in result.stdout
    assert "joints2d, protocol warp: methods" in text and "agreement" in text
    for method in ("raw features", "LAV", "Soft-DTW"):
        assert f"{value[method, 'kendalls_tau']:.4f}" in text, method


RAW_METRICS = ["classification@0.1", "classification@0.5", "classification@1.0", "progress_r2",
               "kendalls_tau", "kendalls_tau@2", "phase_agreement", "ap@5", "ap@10", "ap@15"]


def _raw_feature_scores():
    """The quick benchmark's raw-features run (bundled golf_swing joints, seed 0)."""
    from sklearn.svm import SVC

    from sklav.datasets import load_penn_action
    from sklav.evaluation import evaluate
    from sklav.metrics import kendalls_tau
    from sklav.utils import embed

    train, val = (load_penn_action(actions=["golf_swing"], split=s) for s in ("train", "val"))
    flat = [[v.reshape(len(v), -1) for v in data.videos] for data in (train, val)]
    report = evaluate(None, (flat[0], train.phases), (flat[1], val.phases), label_fractions=(0.1, 0.5, 1.0),
                      n_episodes=3, classifier=SVC(), tau_stride=5, random_state=0)
    scores = {row["metric"]: row["val"] for row in report}
    scores["kendalls_tau@2"] = kendalls_tau(embed(None, flat[1]), stride=2)
    return scores
