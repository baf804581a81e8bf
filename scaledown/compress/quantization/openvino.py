"""OpenVINO: NNCF post-training quantization of an ONNX model to an int8 OpenVINO IR.

``nncf.quantize`` inserts FakeQuantize ops with ranges from calibration data
(and corrects the biases the rounding shifts). Its default preset,
``QuantizationPreset.PERFORMANCE``, quantizes weights (per channel) *and*
activations (per tensor) symmetrically; ``MIXED`` would make activations
asymmetric. ``quantize_openvino`` keeps the default; ``openvino.save_model`` writes
the IR as ``model.xml`` (the graph) + ``model.bin`` (int8 weights), and the
CPU plugin runs it with int8 kernels.
"""

import pathlib

import numpy as np


def convert_openvino(onnx_path, path, compress_to_fp16=False):
    """Convert an ONNX file to an OpenVINO IR at ``path`` (``.xml``, plus ``.bin`` beside it); returns ``str(path)``.

    An ONNX model with QuantizeLinear/DequantizeLinear nodes (``export_qdq_onnx``)
    becomes an int8 IR; a float one stays float32 (``compress_to_fp16=False``).
    """
    import openvino

    openvino.save_model(openvino.convert_model(str(onnx_path)), str(path), compress_to_fp16=compress_to_fp16)
    return str(path)


def quantize_openvino(onnx_path, x_calibration, path, subset_size=300):
    """NNCF PTQ of a float ONNX model into an int8 OpenVINO IR.

    Parameters
    ----------
    onnx_path : str or Path
        Float model (``export_onnx``).
    x_calibration : ndarray (N, C, H, W) float32
        Representative inputs; NNCF uses at most ``subset_size`` of them, one at a time.
    path : str or Path
        Output ``.xml`` file.

    Returns
    -------
    str : ``path``
    """
    import nncf
    import openvino

    model = openvino.convert_model(str(onnx_path))
    dataset = nncf.Dataset(np.asarray(x_calibration, np.float32), lambda sample: sample[None])
    quantized = nncf.quantize(model, dataset, subset_size=min(subset_size, len(x_calibration)))
    openvino.save_model(quantized, str(path))
    return str(path)


def openvino_model(path, num_threads=1):
    """The IR at ``path`` compiled for the CPU with ``num_threads`` inference threads."""
    import openvino

    return openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": num_threads})


def run_openvino(path_or_compiled, x, batch_size=256):
    """Outputs of an OpenVINO IR for ``x`` (N, C, H, W) float32, as float32 (N, outputs)."""
    compiled = (
        openvino_model(path_or_compiled) if isinstance(path_or_compiled, (str, pathlib.Path)) else path_or_compiled
    )
    x = np.asarray(x, np.float32)
    return np.concatenate([compiled(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)])


def ir_size_bytes(path):
    """Bytes on disk of an IR: the ``.xml`` plus its ``.bin``."""
    path = pathlib.Path(path)
    return path.stat().st_size + path.with_suffix(".bin").stat().st_size
