"""Quantization: from float32 models to int8 files that real runtimes execute.

Read the modules in this order, one idea each:

``arithmetic``   scale, zero point, quantize/dequantize (NumPy)
``calibration``  choosing the range: min-max, percentile, MSE
``analysis``     SQNR and per-layer sensitivity: which layers hurt
``batchnorm``    folding batch norm into the convolution
``torch_qat``    quantization-aware training by hand in PyTorch, QDQ ONNX export
``tensorflow``   TFLite int8 by PTQ (converter) and QAT (tfmot); LiteRT and TFLite Micro
``onnx``         ONNX export and ONNX Runtime static PTQ
``openvino``     NNCF PTQ to an int8 OpenVINO IR
``sizes``        where a file's bytes go: weights, other constants, graph

and ``quantize(model, data, method, backend)`` does the whole trip in one call:

>>> qmodel = quantize(keras_model, (x_train,))                      # doctest: +SKIP
>>> qmodel.size_bytes, qmodel.evaluate(x_test, y_test)              # doctest: +SKIP
>>> quantize(torch_model, (x_train, y_train), method="qat", epochs=3)  # doctest: +SKIP

TensorFlow, PyTorch, ONNX Runtime and OpenVINO are imported only when used.
"""

import os
import pathlib
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # compression does not import deployment when it runs (see [tool.importlinter])
    from scaledown.deploy import DeploymentPackage

from scaledown.compress.quantization.analysis import layer_sensitivity, plot_layer_sensitivity, sqnr_db  # noqa: F401
from scaledown.compress.quantization.arithmetic import (  # noqa: F401
    dequantize,
    fake_quantize,
    integer_range,
    quantization_params,
    quantize_tensor,
    tensor_range,
)
from scaledown.compress.quantization.arithmetic import quantize as quantize_array  # noqa: F401
from scaledown.compress.quantization.batchnorm import fold_batchnorm  # noqa: F401
from scaledown.compress.quantization.calibration import MinMaxObserver, MSEObserver, PercentileObserver, calibrate  # noqa: F401
from scaledown.compress.quantization.sizes import size_breakdown  # noqa: F401
from scaledown.foundations.frameworks import framework_of
from scaledown.foundations.timing import median_ms

METHODS = ("ptq", "qat", "none")
SUPPORTED = {
    "keras": {"tflite": ("ptq", "qat", "none")},
    "torch": {"onnxruntime": ("ptq", "qat", "none"), "openvino": ("ptq", "qat", "none")},
}
DEFAULT_BACKEND = {"keras": "tflite", "torch": "onnxruntime"}
_OPTIONS = ("directory", "num_calibration", "per_channel", "epochs", "learning_rate", "batch_size")
_SUPPORTED_TEXT = (
    "(keras, ptq|qat → tflite), (torch, ptq|qat → onnxruntime), (torch, ptq|qat → openvino), "
    "and method='none' for the float32 baseline on the same runtime"
)


class QuantizedModel:
    """An exported model file and the runtime that executes it.

    Attributes
    ----------
    path : pathlib.Path
        The artefact: ``.tflite``, ``.onnx`` or OpenVINO ``.xml`` (with its ``.bin``).
    backend : {"tflite", "onnxruntime", "openvino"}
    method : {"ptq", "qat", "none"}
    layout : {"NHWC", "NCHW"}
        Input layout ``predict`` expects (Keras → NHWC, PyTorch → NCHW).
    """

    def __init__(self, path, backend, method, layout):
        self.path, self.backend, self.method, self.layout = pathlib.Path(path), backend, method, layout
        self._runners = {}

    def __repr__(self):
        return f"QuantizedModel(backend={self.backend!r}, method={self.method!r}, size_bytes={self.size_bytes})"

    @property
    def size_bytes(self):
        """Bytes on disk (for OpenVINO, ``.xml`` + ``.bin``)."""
        if self.backend == "openvino":
            from scaledown.compress.quantization.openvino import ir_size_bytes

            return ir_size_bytes(self.path)
        return self.path.stat().st_size

    def size_breakdown(self):
        """``{"file", "weights", "other_constants", "graph"}`` bytes of the artefact; see ``sizes.size_breakdown``."""
        return size_breakdown(self.path)

    def _runner(self, runtime):
        if runtime not in self._runners:
            if self.backend == "tflite":
                from scaledown.compress.quantization.tensorflow import TFLiteRunner

                self._runners[runtime] = TFLiteRunner(self.path, runtime or "litert")
            elif self.backend == "onnxruntime":
                from scaledown.compress.quantization.onnx import onnx_session

                self._runners[runtime] = onnx_session(self.path)
            else:
                from scaledown.compress.quantization.openvino import openvino_model

                self._runners[runtime] = openvino_model(self.path)
        return self._runners[runtime]

    def predict(self, x, runtime=None):
        """Outputs (logits) for ``x`` (N, ...) float32 in ``layout``, computed by the real runtime.

        ``runtime`` picks the TFLite interpreter: ``"litert"`` (default) or ``"tflm"`` (TFLite Micro).
        Returns float32 (N, classes).
        """
        if runtime not in (None, "litert", "tflm") or (runtime is not None and self.backend != "tflite"):
            raise ValueError(
                f"runtime={runtime!r} is not valid for backend {self.backend!r}; "
                "use None, or 'litert'/'tflm' for tflite models."
            )
        runner = self._runner(runtime)
        if self.backend == "tflite":
            return runner.predict(x)
        if self.backend == "onnxruntime":
            from scaledown.compress.quantization.onnx import run_onnx

            return run_onnx(runner, x)
        from scaledown.compress.quantization.openvino import run_openvino

        return run_openvino(runner, x)

    def evaluate(self, x, y, runtime=None):
        """Accuracy on ``x`` (N, ...) float32 and ``y`` (N,) int labels: share of arg-max equal to the label."""
        return float((self.predict(x, runtime).argmax(axis=1) == np.asarray(y)).mean())

    def latency_ms(self, sample, repeats=200, warmup=20):
        """Median milliseconds to run one sample ``(1, ...)`` float32, single thread, on the real runtime."""
        sample = np.asarray(sample[:1], np.float32)
        runner = self._runner(None)
        if self.backend == "tflite":
            raw = runner.quantize_input(sample)
            run = lambda: runner.invoke(raw)  # noqa: E731
        elif self.backend == "onnxruntime":
            name = runner.get_inputs()[0].name
            run = lambda: runner.run(None, {name: sample})  # noqa: E731
        else:
            request = runner.create_infer_request()
            run = lambda: request.infer([sample])  # noqa: E731
        return median_ms(run, repeats, warmup)

    def save(self, path):
        """Copy the artefact to ``path`` (for OpenVINO the ``.bin`` goes beside it); returns the new ``pathlib.Path``."""
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, path)
        if self.backend == "openvino":
            shutil.copyfile(self.path.with_suffix(".bin"), path.with_suffix(".bin"))
        return path

    def create_deployment_package(
        self, target: str = "pi", out: str | os.PathLike | None = None, **options: Any
    ) -> "DeploymentPackage":
        """Package this artefact for ``target`` (see :func:`scaledown.create_deployment_package`)."""
        from scaledown.deploy import create_deployment_package

        return create_deployment_package(self, target=target, out=out, **options)


def quantize(model: Any, data: Any, method: str = "ptq", backend: str | None = None, **options: Any) -> QuantizedModel:
    """Quantize a Keras or PyTorch model to int8 and export it for a real runtime.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A trained float model with logits output. Keras models take
        ``(N, H, W, C)`` inputs, PyTorch models ``(N, C, H, W)``.
    data : tuple
        ``(x_calibration,)`` or ``(x_calibration, y)`` for ``method="ptq"``
        (a bare array is accepted too; labels are ignored), ``(x_train, y_train)``
        for ``method="qat"``. ``x`` is float32 in the model's layout, ``y`` (N,) int labels.
    method : {"ptq", "qat", "none"}
        Post-training quantization (calibrate ranges on ``x``), quantization-aware
        training (fine-tune with fake quantization), or ``"none"``: the float32
        export, to compare against on the same runtime.
    backend : {"tflite", "onnxruntime", "openvino"} or None
        None picks ``"tflite"`` for Keras and ``"onnxruntime"`` for PyTorch.
    **options
        ``directory`` (where the file goes; a new temporary folder by default);
        PTQ: ``num_calibration`` (300 samples), ``per_channel`` (True, onnxruntime);
        QAT: ``epochs`` (3), ``learning_rate`` (1e-4), ``batch_size`` (32).
        Options that do not apply to ``method`` are ignored.

    Returns
    -------
    QuantizedModel
    """
    framework = framework_of(model, required=False) or type(model).__module__.split(".")[0] + "." + type(model).__name__
    backend = DEFAULT_BACKEND.get(framework) if backend is None else backend
    if method not in SUPPORTED.get(framework, {}).get(backend, ()):
        raise ValueError(f"quantize() supports {_SUPPORTED_TEXT}; got ({framework}, {method!r} → {backend!r}).")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"options {unknown} are not quantize() options; use any of {_OPTIONS}.")
    x, y = _unpack(data, method)
    directory = pathlib.Path(options.pop("directory", None) or tempfile.mkdtemp(prefix="scaledown-quantize-"))
    directory.mkdir(parents=True, exist_ok=True)
    if framework == "keras":
        return _quantize_keras(model, x, y, method, directory, **options)
    return _quantize_torch(model, x, y, method, backend, directory, **options)


def _unpack(data, method):
    if isinstance(data, np.ndarray) and method != "qat":
        return data, None
    if not isinstance(data, (tuple, list)) or not data or (method == "qat" and len(data) < 2):
        raise ValueError(
            f"data={type(data).__name__} is not valid for method={method!r}; pass "
            + ("(x_train, y_train)." if method == "qat" else "(x_calibration,) or (x, y).")
        )
    return np.asarray(data[0], np.float32), (None if len(data) < 2 else np.asarray(data[1]))


def _quantize_keras(model, x, y, method, directory, num_calibration=300, epochs=3, learning_rate=1e-4, batch_size=32):
    from scaledown.compress.quantization import tensorflow as tfl

    if method == "none":
        content = tfl.float_tflite(model)
    elif method == "ptq":
        content = tfl.ptq_tflite(model, x, num_calibration)
    else:
        qat_model = tfl.prepare_qat_keras(model)
        tfl.fit_qat_keras(qat_model, x, y, epochs, batch_size, learning_rate)
        content = tfl.qat_tflite(qat_model)
    path = directory / f"model_{method}.tflite"
    path.write_bytes(content)
    return QuantizedModel(path, "tflite", method, "NHWC")


def _quantize_torch(
    model,
    x,
    y,
    method,
    backend,
    directory,
    num_calibration=300,
    per_channel=True,
    epochs=3,
    learning_rate=1e-4,
    batch_size=32,
):
    import torch

    from scaledown.compress.quantization import onnx as ox
    from scaledown.compress.quantization import openvino as ov

    example = torch.as_tensor(x[:1])
    onnx_path = directory / f"model_{method}.onnx"
    if method == "qat":
        from scaledown.compress.quantization.torch_qat import export_qdq_onnx, prepare_qat
        from scaledown.foundations.training import train_torch

        qat_model = prepare_qat(model)
        train_torch(qat_model, x, y, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, progress=False)
        export_qdq_onnx(qat_model, example, onnx_path)
    else:
        float_path = directory / "model_float.onnx"
        ox.export_onnx(model, example, float_path)
        if method == "none":
            onnx_path = float_path
        elif backend == "onnxruntime":
            ox.quantize_onnx(float_path, x[:num_calibration], onnx_path, per_channel=per_channel)
        else:
            path = ov.quantize_openvino(float_path, x, directory / "model_ptq.xml", subset_size=num_calibration)
            return QuantizedModel(path, "openvino", method, "NCHW")
    if backend == "openvino":
        path = ov.convert_openvino(onnx_path, directory / f"model_{method}.xml")
        return QuantizedModel(path, "openvino", method, "NCHW")
    return QuantizedModel(onnx_path, "onnxruntime", method, "NCHW")
