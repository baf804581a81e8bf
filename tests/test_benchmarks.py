"""Every benchmark runs end to end in quick mode and prints the sections the chapters quote.

The figures themselves come from full-mode runs (``python benchmarks/NAME.py``); quick mode
trains on a few hundred images for an epoch or two, so only the paths are checked here.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

RUNS = {
    "quantization": ([], ["tflite", "onnxruntime", "openvino"]),
    "compression": ([], ["## Unstructured pruning to 80%", "## Structured pruning", "## Distillation, SoftTargetLoss()",
                         "## Distillation, HintLoss(", "recovered"]),
    "distillation_settings": ([], ["## Validation accuracy", "best on validation"]),
    "nas": ([], ["found - baseline"]),
    "deployment": ([], ["quick mode: True"]),
    "fleet": (["--devices", "8", "--gateways", "2", "--seconds", "3"], []),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_runs_in_quick_mode(name):
    arguments, expected = RUNS[name]
    env = dict(os.environ, SCALEDOWN_QUICK="1", TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"benchmarks/{name}.py failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for text in expected:
        assert text in result.stdout, f"benchmarks/{name}.py printed no {text!r}:\n{result.stdout[-3000:]}"


def test_every_benchmark_is_run():
    assert sorted(p.stem for p in BENCHMARKS.glob("*.py")) == sorted(RUNS)


@pytest.mark.parametrize("name, arguments, message", [
    ("compression", ["--splits", "0"], "--splits 0: use a positive number"),
    ("compression", ["--frameworks", "jax"], "--frameworks 'jax': use a comma-separated subset of torch, keras"),
    ("distillation_settings", ["--splits", "-1"], "--splits -1: use a positive number"),
])
def test_benchmark_refuses_bad_options_in_one_sentence(name, arguments, message):
    result = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments], capture_output=True,
                            text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
