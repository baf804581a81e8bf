"""PyTorch → ONNX, and ONNX Runtime's static post-training quantization (PTQ).

``export_onnx`` writes the float model (the exporter folds BN into the convs in
eval mode). ``quantize_onnx`` runs calibration batches through it, picks a
range for every activation and writes a QDQ model: int8 weights (symmetric,
per output channel) and QuantizeLinear/DequantizeLinear pairs around every
activation, which onnxruntime fuses into int8 kernels. ``run_onnx`` runs a file.
"""

import numpy as np


def export_onnx(model, example_input, path, opset_version=17):
    """Export a float ``torch.nn.Module`` (eval mode) to ``path``; input ``"input"`` (batch, C, H, W), output ``"output"``.

    ``example_input`` is a float32 tensor or array of shape ``(1, C, H, W)``. Returns ``str(path)``.
    """
    import torch

    model = model.eval()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.as_tensor(example_input),),
            str(path),
            dynamo=False,
            opset_version=opset_version,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
    return str(path)


def quantize_onnx(float_path, x_calibration, path, per_channel=True, batch_size=32):
    """Static int8 PTQ of an ONNX file with ``onnxruntime.quantization.quantize_static`` (QDQ format).

    Parameters
    ----------
    float_path : str or Path
        Float ONNX model whose input is called ``"input"``.
    x_calibration : ndarray (N, C, H, W) float32
        A few hundred representative inputs; activation ranges are their min-max.
    path : str or Path
        Output ``.onnx`` file.
    per_channel : bool
        One weight scale per output channel (recommended: depthwise convs need it).
        True here, although ``quantize_static``'s own default is ``per_channel=False``.

    Returns
    -------
    str : ``path``
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Batches(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(
                np.asarray(x_calibration[i : i + batch_size], np.float32)
                for i in range(0, len(x_calibration), batch_size)
            )

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {"input": batch}

    quantize_static(
        str(float_path),
        str(path),
        Batches(),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    return str(path)


def onnx_session(path, num_threads=1):
    """An ``onnxruntime.InferenceSession`` on the CPU with ``num_threads`` threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = num_threads
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(path_or_session, x, batch_size=256):
    """Outputs of an ONNX model for ``x`` (N, C, H, W) float32, as float32 (N, outputs)."""
    session = onnx_session(path_or_session) if isinstance(path_or_session, str) else path_or_session
    name = session.get_inputs()[0].name
    x = np.asarray(x, np.float32)
    return np.concatenate([session.run(None, {name: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)])
