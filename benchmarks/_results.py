"""Where a benchmark leaves its figures: ``benchmarks/results/<name>.json``.

The chapters quote these files with the ``{result}`` role (``book/_ext/results.py``), so a
number in the book is always the one the last full-mode run measured. A full-mode run
writes the committed file; a quick-mode run writes nothing unless ``--results PATH`` is
given (the tests do that, to check that every key the book quotes is still produced).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import sys

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
LIBRARIES = (
    "numpy",
    "tensorflow",
    "keras",
    "torch",
    "onnxruntime",
    "openvino",
    "nncf",
    "ai-edge-litert",
    "tensorflow-model-optimization",
    "scikit-learn",
    "amqtt",
    "paho-mqtt",
)


def add_option(parser) -> None:
    parser.add_argument(
        "--results",
        default=None,
        metavar="PATH",
        help="write the results as JSON here (default: benchmarks/results/NAME.json in full mode, "
        "nothing in quick mode)",
    )


def _versions() -> dict:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def _plain(value):
    """NumPy scalars and tuples → JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def save(name: str, results: dict, *, path: str | None, quick: bool, seconds: float) -> pathlib.Path | None:
    """Write ``results`` with the command, date, mode and library versions; return the path (or None)."""
    if path is None and quick:
        return None
    target = pathlib.Path(path) if path else RESULTS / f"{name}.json"
    record = {
        "command": " ".join(["python", f"benchmarks/{name}.py", *sys.argv[1:]]),
        "mode": "quick" if quick else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "seconds": round(seconds),
        "cpus": os.cpu_count(),
        "versions": _versions(),
        "results": _plain(results),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    partial.replace(target)  # never a half-written results file
    print(f"results written to {target}")
    return target
