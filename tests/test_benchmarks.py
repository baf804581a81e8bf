"""Every benchmark runs end to end in quick mode and prints the sections the chapters quote.

The figures themselves come from full-mode runs (``python benchmarks/NAME.py``); quick mode
trains on a few hundred images for an epoch or two, so only the paths are checked here.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

RUNS = {
    "quantization": ([], ["tflite", "onnxruntime", "openvino"]),
    # the compiler's own tests compare 100 inputs per course model; here the benchmark's paths are checked
    "compiler": (
        ["--inputs", "10"],
        ["## Arena (bytes)", "## Instructions per inference", "## Command line", "mismatches_total: 0"],
    ),
    "compression": (
        [],
        [
            "## Unstructured pruning to 80%",
            "## Structured pruning",
            "## Distillation, SoftTargetLoss()",
            "## Distillation, HintLoss(",
            "recovered",
        ],
    ),
    "distillation_settings": ([], ["## Validation accuracy", "best on validation"]),
    "nas": ([], ["found - baseline"]),
    "deployment": ([], ["quick mode: True"]),
    "drift": ([], ["quick mode: True", "| calibrated |"]),
    "fleet": (["--devices", "8", "--gateways", "2", "--seconds", "3"], []),
    "reliability": (
        [],
        [
            "0 accepted, 0 crashed, 0 lost the old model",
            "| power cuts",
            " 0 bricked",
            "| telemetry fuzzing",
            " 0 crashed, ",
        ],
    ),
}


BOOK_RESULT = re.compile(r"\{result\}`([\w]+):([^:`]+)")


def results_the_book_quotes(name: str) -> set:
    """Keys of ``benchmarks/results/<name>.json`` that a chapter quotes with ``{result}``."""
    keys = set()
    for page in (BENCHMARKS.parent / "book").rglob("*.md"):
        keys |= {key.strip() for bench, key in BOOK_RESULT.findall(page.read_text()) if bench == name}
    return keys


def run_in_quick_mode(name, tmp_path):
    arguments, expected = RUNS[name]
    env = dict(os.environ, SCALEDOWN_QUICK="1", TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    written, quoted = tmp_path / f"{name}.json", results_the_book_quotes(name)
    if quoted:
        arguments = [*arguments, "--results", str(written)]
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"benchmarks/{name}.py failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for text in expected:
        assert text in result.stdout, f"benchmarks/{name}.py printed no {text!r}:\n{result.stdout[-3000:]}"
    # the quick run writes the same keys as the full one, so every figure the book quotes still exists
    if quoted:
        record = json.loads(written.read_text())
        assert record["mode"] == "quick" and record["command"].startswith(f"python benchmarks/{name}.py")
        missing = [key for key in sorted(quoted) if _lookup(record["results"], key) is MISSING]
        assert not missing, f"benchmarks/{name}.py no longer writes {missing}, which the book quotes"


def _quick_mode_class(name):
    def test_runs_in_quick_mode(self, tmp_path):
        run_in_quick_mode(name, tmp_path)

    return type(f"TestQuickMode_{name}", (), {"test_runs_in_quick_mode": test_runs_in_quick_mode})


# One class per benchmark: `make test`'s workers (pytest-xdist, --dist loadscope) share a module's
# tests out by class, so the benchmarks' quick runs, minutes each, run on both workers at once.
for _name in sorted(RUNS):
    globals()[f"TestQuickMode_{_name}"] = _quick_mode_class(_name)


MISSING = object()


def _lookup(tree, key):
    """As book/_ext/results.py reads a key: dotted, a part may itself hold a dot ("step_0.5sd")."""
    sys.path.insert(0, str(BENCHMARKS.parent / "book" / "_ext"))
    try:
        import results
    finally:
        sys.path.pop(0)
    try:
        return results.lookup_in(tree, key)
    except results.ResultError:
        return MISSING


def test_committed_results_were_written_by_a_full_run():
    for path in sorted((BENCHMARKS / "results").glob("*.json")):
        record = json.loads(path.read_text())
        assert record["mode"] == "full", f"{path.name} comes from a {record['mode']} run; the book quotes full runs"
        assert record["command"].startswith(f"python benchmarks/{path.stem}.py"), record["command"]
        assert {"date", "versions", "results"} <= set(record), f"{path.name} lacks the run's date, versions or results"


def test_every_benchmark_is_run():
    assert sorted(p.stem for p in BENCHMARKS.glob("[!_]*.py")) == sorted(RUNS)


@pytest.mark.parametrize(
    "name, arguments, message",
    [
        ("compression", ["--splits", "0"], "--splits 0: use a positive number"),
        ("compression", ["--frameworks", "jax"], "--frameworks 'jax': use a comma-separated subset of torch, keras"),
        ("distillation_settings", ["--splits", "-1"], "--splits -1: use a positive number"),
    ],
)
def test_benchmark_refuses_bad_options_in_one_sentence(name, arguments, message):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
