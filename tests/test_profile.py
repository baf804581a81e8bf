"""profile(): numbers and verdicts for real Keras, PyTorch, .tflite and .onnx models."""

import json

import numpy as np
import pytest

from scaledown.foundations.hardware import profile


def _keras_cnn(activation="relu"):
    import keras

    # Random biases, as after training: the converter drops or shares all-zero ones.
    bias = {"bias_initializer": "random_normal"}
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(16, 3, activation=activation, **bias),
            keras.layers.DepthwiseConv2D(3, activation="relu6", **bias),
            keras.layers.Conv2D(32, 1, **bias),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax", **bias),
        ]
    )


@pytest.fixture(scope="module")
def tflite_files(tmp_path_factory):
    import tensorflow as tf

    model = _keras_cnn()
    folder = tmp_path_factory.mktemp("tflite")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    (folder / "float.tflite").write_bytes(converter.convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: ([rng.random((1, 16, 16, 1), dtype=np.float32)] for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (folder / "int8.tflite").write_bytes(converter.convert())
    return model, folder / "float.tflite", folder / "int8.tflite"


def test_tflite_files_profile_like_their_keras_model(tflite_files):
    model, float_path, int8_path = tflite_files
    from_keras, as_float, as_int8 = profile(model), profile(float_path), profile(int8_path)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(as_float.ops)
    assert as_float.macs == as_int8.macs == from_keras.macs
    assert as_float.parameters == from_keras.parameters
    assert as_int8.dtype == "int8" and as_int8.flash_bytes_by_dtype.keys() == {"int8", "int32"}
    assert 0.2 < as_int8.flash_bytes / as_float.flash_bytes < 0.35
    assert as_int8.flash_bytes == from_keras.int8_flash_bytes
    assert as_float.ok and as_int8.ok


def test_torch_model_exported_to_onnx_profiles_from_the_file(tmp_path):
    import torch
    import torch.nn as nn

    model = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 8, 3, groups=8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    ).eval()
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, torch.zeros(1, 1, 16, 16), path, dynamo=False)
    from_onnx = profile(path, target="pi")
    from_torch = profile(model, target="pi", input_shape=(1, 1, 16, 16))
    assert from_onnx.framework == "onnx" and from_torch.framework == "pytorch"
    assert list(from_onnx.ops) == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "RESHAPE", "FULLY_CONNECTED"]
    assert from_onnx.macs == from_torch.macs == 14 * 14 * 8 * 9 + 12 * 12 * 8 * 9 + 8 * 4
    assert from_onnx.ok and "ONNX Runtime" in from_onnx.runtime
    assert "does not run on TFLite Micro" in profile(model, input_shape=(1, 1, 16, 16)).runtime


def test_unsupported_op_is_named_for_nano33ble_but_not_for_pi():
    model = _keras_cnn(activation="gelu")
    on_nano, on_pi = profile(model, "nano33ble"), profile(model, "pi")
    assert on_nano.unsupported_ops == ["GELU"] and not on_nano.ok
    assert "GELU not supported" in on_nano.verdict[0]
    assert on_pi.unsupported_ops == [] and on_pi.ok


@pytest.fixture(scope="module")
def mobilenet():
    import keras

    return keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None)


def test_mobilenet_does_not_fit_nano33ble(mobilenet):
    result = profile(mobilenet, "nano33ble")
    assert not result.fits_flash and not result.fits_ram and not result.ok
    assert result.parameters == mobilenet.count_params()
    efficiency = result.verdict[1]
    assert "flash 6.5 MB + 128.0 KB reserved of 1.0 MB: does not fit, 5.6 MB (5,847,328 bytes) over" in efficiency
    assert "RAM 882.2 KB + 64.0 KB reserved of 256.0 KB: does not fit" in efficiency


def test_mobilenet_fits_pi(mobilenet):
    result = profile(mobilenet, "pi")
    assert result.ok and result.target.id == "pi4"


def test_profile_prints_renders_and_serialises_deterministically(mobilenet):
    first, second = profile(mobilenet, "nano33ble"), profile(mobilenet, "nano33ble")
    assert str(first) == str(second) and "0x" not in str(first)
    assert "| fits RAM | NO |" in first._repr_markdown_()
    assert json.loads(json.dumps(first.to_dict()))["target"] == "nano33ble"


def test_int8_qdq_onnx_profiles_with_int8_weights(tmp_path):
    import numpy as np
    import torch
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 14 * 14, 4)
    ).eval()
    float_path, int8_path = tmp_path / "model.onnx", tmp_path / "model_int8.onnx"
    torch.onnx.export(model, torch.zeros(1, 1, 16, 16), float_path, dynamo=False, input_names=["x"])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": np.random.default_rng(i).random((1, 1, 16, 16), np.float32)} for i in range(4)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(float_path), str(int8_path), Reader(), quant_format=QuantFormat.QDQ)
    floats, ints = profile(float_path, target="pi"), profile(int8_path, target="pi")
    assert ints.macs == floats.macs and "CONV_2D" in ints.ops
    assert ints.flash_bytes_by_dtype.get("int8", 0) == 8 * 9 + 8 * 14 * 14 * 4


def test_folding_batchnorm_counts_one_bias_per_channel_in_channels_first_graphs():
    # a PyTorch conv without bias, then BatchNorm: folding gives the conv 16 int32 biases, not one per column
    import torch

    from scaledown.foundations.hardware import read_graph
    from scaledown.foundations.hardware.graph import int8_weight_bytes

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, bias=False), torch.nn.BatchNorm2d(16)).eval()
    graph = read_graph(model, input_shape=(1, 3, 32, 20))  # output (1, 16, 30, 18): columns 18, channels 16
    conv = next(op for op in graph.ops if op.weights)
    assert conv.weights == 16 * 3 * 3 * 3 and conv.biases == 16
    assert int8_weight_bytes(graph) == 16 * 3 * 3 * 3 + 4 * 16
