"""Check a learner's installation: Python, packages and versions, the kernel, and a tiny end-to-end run.

``run_all()`` prints one line per check (✅ fine, ⚠️ works but differs from the course's
pins, ❌ missing or broken) and says exactly what to do about each ❌. The setup-check
notebook and ``scaledown doctor`` call it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import io
import re
import sys
from dataclasses import dataclass

from scaledown.labs import course_root

# Distribution name -> module to import, where they differ.
_IMPORT_NAMES = {
    "tensorflow-cpu": "tensorflow",
    "tf-keras": "tf_keras",
    "tensorflow-model-optimization": "tensorflow_model_optimization",
    "ai-edge-litert": "ai_edge_litert",
    "tflite-micro": "tflite_micro",
    "scikit-learn": "sklearn",
    "pyelftools": "elftools",
    "paho-mqtt": "paho.mqtt",
    "jupyter-book": "jupyter_book",
    "ipykernel": "ipykernel",
    "pytest-xdist": "xdist",
    "import-linter": "importlinter",
}
# Needed by the notebooks themselves; the rest (book, tests, lab server) only for `make` targets.
_ESSENTIAL = {
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "tqdm",
    "tensorflow-cpu",
    "keras",
    "torch",
    "ai-edge-litert",
    "tflite-micro",
    "onnx",
    "onnxruntime",
    "ipywidgets",
}


@dataclass
class Finding:
    """One line of the report: ``status`` is ``"ok"``, ``"warn"`` or ``"fail"``."""

    status: str
    what: str
    detail: str = ""

    def __str__(self) -> str:
        icon = {"ok": "✅", "warn": "⚠️ ", "fail": "❌"}[self.status]
        return f"{icon} {self.what}" + (f": {self.detail}" if self.detail else "")


def pinned_requirements(path=None) -> dict:
    """``{distribution: version}`` from the course's ``requirements.txt`` (pins with ``==`` only)."""
    path = path or course_root() / "requirements.txt"
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s#;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def check_python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] == (3, 11):
        return Finding("ok", "Python", version)
    if sys.version_info[:2] >= (3, 10):
        return Finding("warn", "Python", f"{version}; the course is pinned and tested on 3.11")
    return Finding("fail", "Python", f"{version} is too old: install Python 3.11 and run `make lab`")


def check_packages(pins: dict | None = None, essential=None) -> list:
    """A finding per pinned package: installed and importable, at the pinned version or not."""
    pins = pinned_requirements() if pins is None else pins
    essential = _ESSENTIAL if essential is None else set(essential)
    findings = []
    for name, wanted in sorted(pins.items()):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is None and name == "tensorflow-cpu":  # Colab and GPU machines ship "tensorflow"
            installed = _version_or_none("tensorflow")
        if installed is None:
            status = "fail" if name in essential else "warn"
            findings.append(Finding(status, name, f"not installed: run `make lab` (or `pip install {name}=={wanted}`)"))
            continue
        try:
            importlib.import_module(_IMPORT_NAMES.get(name, name.replace("-", "_")))
        except Exception as exc:  # noqa: BLE001 - any import failure is the finding
            findings.append(
                Finding("fail", name, f"installed ({installed}) but `import` fails: {type(exc).__name__}: {exc}")
            )
            continue
        if installed.split("+")[0] != wanted.split("+")[0]:
            findings.append(Finding("warn", name, f"{installed} installed, the course pins {wanted}"))
        else:
            findings.append(Finding("ok", name, installed))
    return findings


def _version_or_none(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_kernel() -> Finding:
    """Is this kernel the course's environment (``.venv``), Colab, or something else?"""
    if "google.colab" in sys.modules:
        return Finding("ok", "kernel", "Google Colab")
    venv = course_root() / ".venv"
    if sys.prefix.startswith(str(venv)):
        return Finding("ok", "kernel", f"the course's environment ({sys.executable})")
    return Finding(
        "warn",
        "kernel",
        f"{sys.executable} is not the course's .venv: in JupyterLab pick the kernel 'Python 3 (scaledown)'",
    )


def check_end_to_end() -> Finding:
    """Train a tiny Keras model, quantize it to int8 and run it in LiteRT and TensorFlow Lite Micro."""
    try:
        import keras
        import numpy as np
        import tensorflow as tf
        from ai_edge_litert.interpreter import Interpreter
        from tflite_micro.python.tflite_micro import runtime

        from scaledown.foundations.datasets import load_sine

        x, y, _, _ = load_sine(n_samples=200)
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[i : i + 1]] for i in range(50))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            flatbuffer = converter.convert()  # the converter narrates; keep the report readable

        sample = x[:1]
        litert = Interpreter(model_content=flatbuffer)
        litert.allocate_tensors()
        inp, out = litert.get_input_details()[0], litert.get_output_details()[0]
        scale, zero = inp["quantization"]
        q = np.clip(np.round(sample / scale + zero), -128, 127).astype(np.int8)
        litert.set_tensor(inp["index"], q)
        litert.invoke()
        micro = runtime.Interpreter.from_bytes(flatbuffer)
        micro.set_input(q, 0)
        micro.invoke()
        if not np.array_equal(litert.get_tensor(out["index"]), micro.get_output(0)):
            return Finding("fail", "train → int8 → run", "LiteRT and TFLite Micro disagree")
        return Finding(
            "ok", "train → int8 → run", f"{len(flatbuffer):,}-byte int8 model, LiteRT and TFLite Micro agree"
        )
    except Exception as exc:  # noqa: BLE001 - the learner needs the reason, not a traceback
        return Finding("fail", "train → int8 → run", f"{type(exc).__name__}: {exc}")


def run_all(end_to_end: bool = True) -> list:
    """Run every check, print the report, and return the findings."""
    findings = [check_python(), check_kernel(), *check_packages()]
    if end_to_end:
        findings.append(check_end_to_end())
    for finding in findings:
        print(finding)
    failed = [f for f in findings if f.status == "fail"]
    print(
        "\nAll set: your installation runs the course."
        if not failed
        else f"\n{len(failed)} problem(s): " + "; ".join(f"{f.what} ({f.detail})" for f in failed)
    )
    return findings
