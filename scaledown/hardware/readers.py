"""``read_graph``: the one entry point that recognises a model's framework.

Framework libraries are imported only when a model of theirs arrives, so
``import scaledown.hardware`` stays fast.
"""
import sys
from pathlib import Path

from scaledown.hardware.graph import Graph

ACCEPTED = "a Keras model, a torch.nn.Module, a .tflite file (path or bytes) or a .onnx file (path or onnx.ModelProto)"


def read_graph(model, input_shape=None) -> Graph:
    """Read any supported model into a framework-free :class:`Graph`.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module, onnx.ModelProto, bytes, str or Path
        The model, the bytes of a ``.tflite`` file, or the path of a
        ``.tflite``, ``.onnx`` or ``.keras`` file.
    input_shape : tuple of int, optional
        Example input shape including the batch, e.g. ``(1, 1, 32, 32)``;
        required for PyTorch models.

    Raises
    ------
    ValueError
        If the model is of no supported kind, or its file is missing or unreadable.
    """
    if isinstance(model, (bytes, bytearray)):
        return _read_file_content(model, "<bytes>", ".tflite")
    if isinstance(model, (str, Path)):
        path = Path(model)
        if path.suffix.lower() not in (".tflite", ".onnx", ".keras"):
            raise ValueError(f"Cannot profile {str(path)!r}: expected {ACCEPTED}.")
        if not path.is_file():
            raise ValueError(f"No file at {str(path)!r}: expected {ACCEPTED}.")
        if path.suffix.lower() == ".keras":
            import keras
            from scaledown.hardware.keras_reader import read_keras
            return read_keras(keras.saving.load_model(path), input_shape)
        return _read_file_content(path.read_bytes(), str(path), path.suffix.lower())
    if "keras" in sys.modules and isinstance(model, sys.modules["keras"].Model):
        from scaledown.hardware.keras_reader import read_keras
        return read_keras(model, input_shape)
    if "torch" in sys.modules and isinstance(model, sys.modules["torch"].nn.Module):
        from scaledown.hardware.torch_reader import read_torch
        return read_torch(model, input_shape)
    if "onnx" in sys.modules and isinstance(model, sys.modules["onnx"].ModelProto):
        from scaledown.hardware.onnx_reader import read_onnx
        return read_onnx(model)
    raise ValueError(f"Cannot profile a {type(model).__name__}: expected {ACCEPTED}.")


def _read_file_content(content: bytes, where: str, suffix: str) -> Graph:
    try:
        if suffix == ".onnx":
            import onnx
            from scaledown.hardware.onnx_reader import read_onnx
            model = onnx.load_from_string(content)
            onnx.checker.check_model(model)
            return read_onnx(model)
        from scaledown.hardware.tflite_reader import read_tflite
        return read_tflite(content)
    except Exception as error:
        kind = "an ONNX" if suffix == ".onnx" else "a TensorFlow Lite"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
        raise ValueError(f"Cannot read {where!r} as {kind} model ({reason}): expected {ACCEPTED}.") from None
