"""``read_graph``: the one entry point that recognises a model's framework.

Framework libraries are imported only when a model of theirs arrives, so
``import scaledown.foundations.hardware`` stays fast.
"""

import sys
from pathlib import Path

from scaledown.foundations.hardware.graph import Graph

ACCEPTED = "a Keras model, a torch.nn.Module, a .tflite file (path or bytes) or a .onnx file (path or onnx.ModelProto)"
MODEL_SUFFIXES = (".tflite", ".onnx", ".keras")
PYTORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


def check_model_file(path, accepted: str = ACCEPTED) -> Path:
    """``path`` as a Path if it names a non-empty .tflite, .onnx or .keras file; else one sentence (ValueError)."""
    path = Path(path)
    if path.suffix.lower() in PYTORCH_SUFFIXES:
        raise ValueError(
            f"{str(path)!r} is a PyTorch checkpoint, which holds weights but not the network: export "
            "the model to ONNX (torch.onnx.export) and pass the .onnx, or pass the torch.nn.Module "
            "in Python."
        )
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder: give a model file, {accepted}.")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ValueError(f"Cannot read {str(path)!r} (a {path.suffix or 'suffix-less'} file): expected {accepted}.")
    if not path.is_file():
        raise ValueError(f"No file at {str(path)!r}: expected {accepted}.")
    if path.stat().st_size == 0:
        raise ValueError(f"{str(path)!r} is empty (0 bytes): expected {accepted}.")
    return path


def load_keras_file(path):
    """``keras.saving.load_model(path)``, or one sentence (ValueError) if the file is not a Keras model."""
    import zipfile

    path = check_model_file(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"Cannot read {str(path)!r} as a Keras model: a .keras file is a zip archive and this one "
            "is not (damaged or cut short)."
        )
    import keras

    try:
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; the learner needs one sentence
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")[:200]
        raise ValueError(f"Cannot read {str(path)!r} as a Keras model ({reason}).") from None


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
        path = check_model_file(model)
        if path.suffix.lower() == ".keras":
            from scaledown.foundations.hardware.keras_reader import read_keras

            return read_keras(load_keras_file(path), input_shape)
        return _read_file_content(path.read_bytes(), str(path), path.suffix.lower())
    if "keras" in sys.modules and isinstance(model, sys.modules["keras"].Model):
        from scaledown.foundations.hardware.keras_reader import read_keras

        return read_keras(model, input_shape)
    if "torch" in sys.modules and isinstance(model, sys.modules["torch"].nn.Module):
        from scaledown.foundations.hardware.torch_reader import read_torch

        return read_torch(model, input_shape)
    if "onnx" in sys.modules and isinstance(model, sys.modules["onnx"].ModelProto):
        from scaledown.foundations.hardware.onnx_reader import read_onnx

        return read_onnx(model)
    raise ValueError(f"Cannot profile a {type(model).__name__}: expected {ACCEPTED}.")


def _read_file_content(content: bytes, where: str, suffix: str) -> Graph:
    try:
        if suffix == ".onnx":
            import onnx

            from scaledown.foundations.hardware.onnx_reader import read_onnx

            model = onnx.load_from_string(content)
            onnx.checker.check_model(model)
            return read_onnx(model)
        from scaledown.foundations.hardware.tflite_reader import read_tflite

        return read_tflite(content)
    except Exception as error:
        kind = "an ONNX" if suffix == ".onnx" else "a TensorFlow Lite"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
        raise ValueError(f"Cannot read {where!r} as {kind} model ({reason}): expected {ACCEPTED}.") from None
