"""What every deployment package shares: the model file, its tensor spec, and a safe write.

``create_deployment_package`` turns any model the course produces into one
artefact a runtime executes — an int8 ``.tflite`` for LiteRT and TFLite Micro,
or an ``.onnx`` for ONNX Runtime — then hands it to the Linux or the
microcontroller builder. Every package is built in a temporary folder beside
``out`` and renamed into place at the end, so a failure never leaves half a
package, and an existing package is replaced only by a complete one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaledown.foundations.frameworks import framework_of
from scaledown.foundations.hardware import get_target

MANIFEST = "manifest.json"
RUNTIMES = ("interpreter", "compiled")  # microcontrollers: TFLite Micro, or the model compiled to C
HELP_CHAPTERS = (
    "see the chapters on quantization (int8 is 4x smaller), pruning and architecture search for smaller models"
)
ACCEPTED = (
    "a .tflite or .onnx file (path or bytes), a .keras file, a keras.Model, a torch.nn.Module, "
    "a QuantizedModel from scaledown.quantize or a model from scaledown.wrap"
)


class DeploymentRefused(ValueError):
    """The model cannot run on the target: the message names the ops or the bytes over."""


@dataclass
class Artefact:
    """One model file a runtime executes.

    ``content`` is the file's bytes, ``format`` ``"tflite"`` or ``"onnx"``,
    ``origin`` a few words on where it came from (for the manifest).
    """

    content: bytes
    format: str
    origin: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class DeploymentPackage:
    """What :func:`create_deployment_package` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The package folder.
    target : scaledown.foundations.hardware.Target
    manifest : dict
        The contents of ``manifest.json``.
    files : list of str
        Paths inside ``path``, sorted.
    archive : pathlib.Path or None
        The ``.tar.gz`` beside the folder (Linux boards).
    report : dict
        Flash and RAM use against the board's limits (microcontrollers), or the
        model's size and the runtime (Linux boards).
    """

    path: pathlib.Path
    target: object
    manifest: dict
    files: list
    archive: pathlib.Path | None = None
    report: dict = field(default_factory=dict)

    def __repr__(self):
        return f"DeploymentPackage(path={str(self.path)!r}, target={self.target.id!r}, files={len(self.files)})"

    def __str__(self):
        lines = [f"{self.target.id} package in {self.path} ({len(self.files)} files)"]
        if self.archive is not None:
            lines.append(f"archive: {self.archive}")
        lines += [f"{key}: {value}" for key, value in self.report.items() if key != "lines"]
        return "\n".join(lines + list(self.report.get("lines", [])))


# --------------------------------------------------------------------------- the model file


def to_artefact(model, target, representative_data=None, num_calibration=300) -> Artefact:
    """The runtime-ready file for ``model`` on ``target``.

    Keras models become a full-int8 ``.tflite`` (the converter calibrates on
    ``representative_data``); PyTorch models an int8 QDQ ``.onnx`` (ONNX Runtime
    static quantization) — Linux boards only, as TFLite Micro reads no ONNX.
    Files and already-quantized models pass through unchanged.
    """
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(model, "create_deployment_package") and framework_of(inner, required=False):
        representative_data = (
            representative_data if representative_data is not None else getattr(model, "representative_data", None)
        )
        model = inner  # a scaledown.wrap(...) model
    if isinstance(model, (bytes, bytearray)):
        return Artefact(bytes(model), "tflite", "a .tflite given as bytes")
    if hasattr(model, "path") and hasattr(model, "backend"):  # a QuantizedModel
        if model.backend not in ("tflite", "onnxruntime"):
            raise ValueError(
                f"model is a {model.backend} QuantizedModel; deployment packages take a .tflite or "
                "an .onnx: quantize with backend='tflite' (Keras) or 'onnxruntime' (PyTorch)."
            )
        fmt = "tflite" if model.backend == "tflite" else "onnx"
        return Artefact(pathlib.Path(model.path).read_bytes(), fmt, f"scaledown.quantize ({model.method})")
    if isinstance(model, (str, os.PathLike)):
        from scaledown.foundations.hardware.readers import check_model_file, load_keras_file, read_graph

        path = check_model_file(model, accepted=ACCEPTED)
        suffix = path.suffix.lower()
        if suffix == ".keras":
            return to_artefact(load_keras_file(path), target, representative_data, num_calibration)
        read_graph(path)  # a damaged or cut .tflite/.onnx is refused here, in one sentence, before anything is written
        return Artefact(path.read_bytes(), suffix[1:], f"the file {path.name}")
    framework = framework_of(model, required=False)
    if framework is None:
        raise ValueError(f"model is a {type(model).__name__}; pass {ACCEPTED}.")
    if framework == "torch" and target.is_microcontroller:
        raise DeploymentRefused(
            f"PyTorch models do not run on TFLite Micro ({target.id}): export to ONNX and convert to .tflite "
            "(e.g. with ai-edge-torch or onnx2tf), or build the model in Keras, then pass the .tflite."
        )
    if representative_data is None:
        raise ValueError(
            f"representative_data=None: a float {framework} model needs a few hundred example inputs "
            "(float32, the model's input shape, e.g. x_train[:300]) to calibrate its int8 conversion; "
            "pass representative_data=..., or an already-quantized .tflite/.onnx."
        )
    x = check_representative_data(representative_data, _input_shape(model, framework))
    if framework == "keras":
        from scaledown.compress.quantization.tensorflow import ptq_tflite

        with _quiet_converter():
            content = ptq_tflite(model, x, num_calibration)
        return Artefact(content, "tflite", "Keras model, full-int8 post-training quantization (TFLiteConverter)")
    from scaledown.compress.quantization import quantize

    with tempfile.TemporaryDirectory() as folder:
        quantized = quantize(model, (x,), backend="onnxruntime", directory=folder, num_calibration=num_calibration)
        return Artefact(
            pathlib.Path(quantized.path).read_bytes(),
            "onnx",
            "PyTorch model, int8 static quantization (ONNX Runtime, QDQ)",
        )


def _input_shape(model, framework):
    """The model's input shape without the batch axis, where the framework knows it (else None)."""
    if framework == "keras":
        shape = getattr(model, "input_shape", None)
        if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape[1:]):
            return tuple(shape[1:])
    return None


def check_representative_data(data, sample_shape=None) -> np.ndarray:
    """``data`` as float32 ``(N, ...)``, or one sentence (ValueError) saying what is wrong and what is expected."""
    expected = f"(N, {', '.join(map(str, sample_shape))})" if sample_shape else "(N, ...)"
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"representative_data holds {array.dtype} values: it must be numbers, float32 {expected}.")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"representative_data holds no samples: give a few hundred inputs, float32 {expected}.")
    if sample_shape is not None and tuple(array.shape[1:]) != tuple(sample_shape):
        raise ValueError(f"representative_data has shape {array.shape}; the model takes {expected}.")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError("representative_data holds NaN or infinite values; give real inputs.")
    return array


@contextlib.contextmanager
def _quiet_converter():
    """Silence the TFLite converter: its INFO logs (temporary paths), its int8-input statistics warning, and
    what its C++ part prints to the process's stdout and stderr."""
    import logging
    import warnings

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [devnull]:
            os.close(fd)
        logger.setLevel(level)


# --------------------------------------------------------------------------- tensor specs


def _tensor_spec(detail: dict) -> dict:
    params = detail.get("quantization_parameters", {})
    scales = [float(s) for s in np.atleast_1d(params.get("scales", []))]
    zero_points = [int(z) for z in np.atleast_1d(params.get("zero_points", []))]
    spec = {
        "name": str(detail.get("name", "")),
        "shape": [int(d) for d in detail["shape"]],
        "dtype": np.dtype(detail["dtype"]).name,
    }
    spec["quantization"] = {"scale": scales, "zero_point": zero_points} if scales else None
    return spec


def tflite_spec(content: bytes) -> dict:
    """Inputs, outputs and op counts of a ``.tflite``, read by LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    ops = {}
    for op in interpreter._get_ops_details():
        ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
    return {
        "inputs": [_tensor_spec(d) for d in interpreter.get_input_details()],
        "outputs": [_tensor_spec(d) for d in interpreter.get_output_details()],
        "ops": ops,
    }


def onnx_spec(content: bytes) -> dict:
    """Inputs, outputs and op counts of an ``.onnx``, read by ONNX Runtime and onnx."""
    import onnx
    import onnxruntime

    session = onnxruntime.InferenceSession(content, providers=["CPUExecutionProvider"])
    types = {
        "tensor(float)": "float32",
        "tensor(int8)": "int8",
        "tensor(uint8)": "uint8",
        "tensor(int64)": "int64",
        "tensor(int32)": "int32",
    }

    def spec(arg):
        shape = [d if isinstance(d, int) else -1 for d in arg.shape]
        return {"name": arg.name, "shape": shape, "dtype": types.get(arg.type, arg.type), "quantization": None}

    ops = {}
    for node in onnx.load_from_string(content).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {
        "inputs": [spec(a) for a in session.get_inputs()],
        "outputs": [spec(a) for a in session.get_outputs()],
        "ops": ops,
    }


def model_spec(artefact: Artefact) -> dict:
    return tflite_spec(artefact.content) if artefact.format == "tflite" else onnx_spec(artefact.content)


def float_range(spec: dict) -> tuple:
    """The float values an int8 input can represent, ``s·(−128−z) … s·(127−z)``; (−1, 1) for float inputs."""
    q = spec["quantization"]
    if not q:
        return -1.0, 1.0
    info = np.iinfo(spec["dtype"])
    return q["scale"][0] * (info.min - q["zero_point"][0]), q["scale"][0] * (info.max - q["zero_point"][0])


def sample_inputs_for(spec: dict, sample_inputs=None, representative_data=None, count=8) -> np.ndarray:
    """Float inputs for the package's self-test: those given, else the first representative ones, else random.

    Random inputs are drawn uniformly over what the input tensor can represent
    (seed 0). Returns float32 (N, *input shape without batch).
    """
    shape = [d if d > 0 else 1 for d in spec["inputs"][0]["shape"][1:]]
    for data, name in ((sample_inputs, "sample_inputs"), (representative_data, "representative_data")):
        if data is not None:
            x = np.asarray(data, np.float32)
            if list(x.shape[1:]) != shape:
                raise ValueError(
                    f"{name} has shape {tuple(x.shape)}; the model takes (N, {', '.join(map(str, shape))})."
                )
            return x[:count] if name == "representative_data" else x
    low, high = float_range(spec["inputs"][0])
    return np.random.default_rng(0).uniform(low, high, size=(count, *shape)).astype(np.float32)


def raw_samples(spec: dict, preprocessing: dict, sample_inputs=None, representative_data=None) -> np.ndarray:
    """Raw inputs for the self-test: ``sample_inputs`` as given (raw), else model inputs mapped back through
    the preprocessing (``(x − add) / multiply``). Returns float32 (N, ...)."""
    if sample_inputs is not None:
        return sample_inputs_for(spec, sample_inputs)
    x = sample_inputs_for(spec, None, representative_data)
    return (
        (x - np.asarray(preprocessing["add"], np.float32)) / np.asarray(preprocessing["multiply"], np.float32)
    ).astype(np.float32)


def check_preprocessing(preprocessing, spec: dict) -> dict:
    """Validate ``preprocessing``: ``{"multiply": m, "add": a, "description": text}`` applied as ``x·m + a``.

    ``m`` and ``a`` are numbers, or lists as long as the input's last axis (one per channel).
    """
    result = {"multiply": 1.0, "add": 0.0, "description": "none: inputs are given as the model takes them (float32)"}
    if preprocessing is None:
        return result
    if not isinstance(preprocessing, dict) or set(preprocessing) - set(result):
        raise ValueError(
            f"preprocessing={preprocessing!r} is not valid; pass a dict with the keys "
            "'multiply', 'add' (numbers or one per channel) and 'description'."
        )
    channels = spec["inputs"][0]["shape"][-1]
    for key in ("multiply", "add"):
        value = preprocessing.get(key, result[key])
        values = np.atleast_1d(np.asarray(value, np.float64))
        if values.ndim != 1 or len(values) not in (1, channels):
            raise ValueError(
                f"preprocessing[{key!r}]={value!r} must be a number or {channels} numbers (one per input channel)."
            )
        if key == "multiply" and np.any(values == 0):
            raise ValueError(f"preprocessing['multiply']={value!r} contains 0; it must be non-zero.")
        result[key] = float(values[0]) if np.ndim(value) == 0 else [float(v) for v in values]
    result["description"] = str(preprocessing.get("description", "x * multiply + add"))
    return result


def sha256_file(path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def write_json(path, data) -> None:
    pathlib.Path(path).write_text(json.dumps(data, indent=2) + "\n")


def list_files(folder) -> list:
    folder = pathlib.Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- atomic output


def check_out(out) -> pathlib.Path:
    """``out`` as a Path; refuses a file, or a folder that is not a scaledown package (it would be replaced)."""
    if out is None:
        raise ValueError("out=None: give the folder to write the package to, e.g. out='build/digits-pi'.")
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; give a folder path for the package.")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ValueError(
            f"out={str(out)!r} is a folder that is not a scaledown deployment package, and it would "
            "be replaced; choose a new folder or empty it."
        )
    return out


@contextlib.contextmanager
def staging(out: pathlib.Path):
    """Yield a fresh temporary folder beside ``out``; on success it replaces ``out``, on failure it is removed.

    The swap is two renames on the same file system: the old package is moved
    aside, the new one moved in, then the old one deleted. A reader sees the
    complete old package or the complete new one, never a partial one. Folders
    made for ``out``'s parent are removed too if the build fails.
    """
    created = [p for p in [out.parent, *out.parent.parents] if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    replace_folder(tmp, out)


def replace_folder(new: pathlib.Path, out: pathlib.Path) -> None:
    """Move the finished folder ``new`` to ``out``, replacing any previous package there."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(out, old)
    try:
        os.rename(new, out)
    except BaseException:
        if old is not None:
            os.rename(old, out)
        shutil.rmtree(new, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def create_deployment_package(
    model: Any,
    target: str = "pi",
    out: str | os.PathLike | None = None,
    *,
    representative_data: np.ndarray | None = None,
    sample_inputs: np.ndarray | None = None,
    preprocessing: dict | None = None,
    class_names: Sequence[str] | None = None,
    name: str | None = None,
    num_calibration: int = 300,
    arena_margin: float = 0.25,
    runtime: str = "interpreter",
) -> DeploymentPackage:
    """Package a model for a board: everything needed to run it there, verified here on the same runtime.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module, QuantizedModel, wrapped model, bytes, str or Path
        What to deploy: a trained float model (converted to int8 here, calibrated
        on ``representative_data``), an int8 model from ``scaledown.quantize``, or
        a ``.tflite`` / ``.onnx`` / ``.keras`` file.
    target : str
        A target id from ``scaledown.list_targets()``: ``"pi"``/``"pi4"``, ``"pi5"``
        (a folder and a ``.tar.gz``: model, inference program, requirements,
        systemd unit, manifest, README) or ``"nano33ble"``, ``"esp32s3"``,
        ``"stm32h7"`` (C array, op resolver, measured arena size, Arduino
        sketch, PlatformIO project, memory report).
    out : str or Path, optional
        The package folder; by default ``NAME-TARGET`` in the working directory.
        An existing package there is replaced, only once the new one is complete.
    representative_data : ndarray (N, ...) float32, optional
        Example inputs in the model's layout (e.g. ``x_train[:300]``); required
        for a float Keras or PyTorch model, whose int8 conversion calibrates on them.
    sample_inputs : ndarray (N, ...) float32, optional
        Inputs the package stores with their reference outputs for its self-test;
        by default the first 8 representative inputs, or random ones.
    preprocessing : dict, optional
        ``{"multiply": m, "add": a, "description": "..."}``: the inference program
        computes ``x·m + a`` on raw sensor values before the model (e.g.
        ``multiply=1/255`` for 8-bit pixels). Numbers, or one per input channel.
    class_names : sequence of str, optional
        Names of the output classes, for the program's printout.
    name : str, optional
        The package's name (letters, digits, ``_``, ``-``); default ``"model"``.
    num_calibration : int
        Representative inputs used for int8 calibration.
    arena_margin : float
        Microcontrollers: safety margin added to the measured tensor arena (0.25 = +25 %).
    runtime : {"interpreter", "compiled"}
        Cortex-M microcontrollers: ``"interpreter"`` (TFLite Micro reads the model as a C
        array) or ``"compiled"`` (the model compiled to plain C by ``scaledown.deploy.compiler``,
        checked on an emulated Cortex-M4; the report gives flash, RAM, arena and instructions).

    Returns
    -------
    DeploymentPackage

    Raises
    ------
    DeploymentRefused
        The model uses ops the target's runtime lacks, or does not fit its flash
        or RAM; the message names the ops or the bytes over.
    ValueError
        An unknown target (the catalogue's message), a float model without
        ``representative_data``, or an ``out`` that is a file or a foreign folder.
    """
    target = get_target(target)
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime={runtime!r} is not a runtime; use one of {', '.join(map(repr, RUNTIMES))}.")
    if runtime == "compiled" and "Cortex-M" not in target.processor:
        raise ValueError(
            f"runtime='compiled' builds for Cortex-M microcontrollers; {target.id} has a {target.processor}: "
            "use runtime='interpreter'."
        )
    name = name or "model"
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"name={name!r} is not valid; use letters, digits, '_' or '-', starting with a letter.")
    out = check_out(out if out is not None else f"{name}-{target.id}")
    artefact = to_artefact(model, target, representative_data, num_calibration)
    options = dict(
        representative_data=representative_data,
        sample_inputs=sample_inputs,
        preprocessing=preprocessing,
        class_names=None if class_names is None else [str(c) for c in class_names],
        name=name,
    )
    if target.is_microcontroller:
        from scaledown.deploy.micro import build_micro_package

        return build_micro_package(artefact, target, out, arena_margin=arena_margin, runtime=runtime, **options)
    from scaledown.deploy.linux import build_linux_package

    return build_linux_package(artefact, target, out, **options)
