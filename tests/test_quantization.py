"""scaledown.compress.quantization: the arithmetic, calibration, BN folding, STE, and every backend on its real runtime."""

import numpy as np
import pytest

from scaledown.compress.quantization import (
    MinMaxObserver,
    MSEObserver,
    PercentileObserver,
    dequantize,
    fake_quantize,
    layer_sensitivity,
    quantization_params,
    quantize,
    quantize_array,
    size_breakdown,
    sqnr_db,
)
from scaledown.foundations.datasets import load_digits
from scaledown.foundations.models import baseline

RNG = np.random.default_rng(0)


# --- arithmetic -------------------------------------------------------------------------------------------


def test_round_trip_error_is_at_most_half_a_step_inside_the_range():
    x = RNG.uniform(-1.3, 2.7, size=10_000)
    scale, zero_point = quantization_params(x.min(), x.max())
    x_hat = dequantize(quantize_array(x, scale, zero_point), scale, zero_point)
    assert np.abs(x - x_hat).max() <= scale / 2 + 1e-6


def test_values_outside_the_range_are_clipped():
    scale, zero_point = quantization_params(-1.0, 1.0)
    assert quantize_array([5.0, -5.0], scale, zero_point).tolist() == [127, -128]


def test_symmetric_quantization_has_zero_point_zero_and_scale_max_abs_over_127():
    scale, zero_point = quantization_params(-0.5, 2.54, symmetric=True, narrow_range=True)
    assert zero_point == 0 and scale == pytest.approx(2.54 / 127)


def test_per_channel_scales_follow_each_channels_range():
    weights = RNG.normal(size=(4, 3, 3, 3)) * np.array([0.01, 0.1, 1.0, 10.0])[:, None, None, None]
    low, high = weights.min(axis=(1, 2, 3)), weights.max(axis=(1, 2, 3))
    scale, zero_point = quantization_params(low, high, symmetric=True)
    assert scale.shape == (4,) and np.all(np.diff(scale) > 0) and np.all(zero_point == 0)
    x_hat = fake_quantize(weights, scale, zero_point, axis=0)
    assert np.all(np.abs(weights - x_hat).max(axis=(1, 2, 3)) <= scale / 2 + 1e-6)


def test_all_zero_range_gets_a_positive_scale_and_represents_zero_exactly():
    scale, zero_point = quantization_params(0.0, 0.0)
    assert scale > 0
    assert fake_quantize(np.zeros(3), scale, zero_point).tolist() == [0.0, 0.0, 0.0]


def test_range_is_widened_to_include_zero_so_zero_is_exact():
    scale, zero_point = quantization_params(2.0, 5.0)
    assert fake_quantize(0.0, scale, zero_point) == 0.0
    assert fake_quantize(5.0, scale, zero_point) == pytest.approx(5.0, abs=scale / 2)


# --- calibration and SQNR ---------------------------------------------------------------------------------


def _with_outliers():
    values = RNG.normal(size=20_000)
    values[:5] = [40.0, -35.0, 30.0, 25.0, -20.0]
    return values


def test_percentile_range_lies_inside_the_min_max_range():
    x = _with_outliers()
    low, high = MinMaxObserver().observe(x[:10_000]).observe(x[10_000:]).range()
    p_low, p_high = PercentileObserver(99.9).observe(x).range()
    assert low <= p_low < p_high <= high


def test_mse_calibration_has_lower_error_than_min_max_on_data_with_outliers():
    x = _with_outliers()

    def error(observer):
        scale, zero_point = quantization_params(*observer.observe(x).range())
        return np.mean((x - fake_quantize(x, scale, zero_point)) ** 2)

    assert error(MSEObserver()) < error(MinMaxObserver())


def test_per_channel_observer_returns_one_range_per_channel():
    x = RNG.normal(size=(8, 5, 4)) * np.arange(1, 6)[None, :, None]
    low, high = MinMaxObserver(axis=1).observe(x).range()
    assert low.shape == high.shape == (5,)
    np.testing.assert_allclose(high, x.max(axis=(0, 2)), rtol=1e-6)


def test_sqnr_of_noise_one_tenth_of_the_signal_is_20_db():
    x = RNG.normal(size=100_000)
    assert sqnr_db(x, x + 0.1 * RNG.normal(size=x.shape)) == pytest.approx(20.0, abs=0.2)


# --- PyTorch: BN folding, STE, QAT → QDQ ONNX, ORT PTQ, OpenVINO ------------------------------------------


@pytest.fixture(scope="module")
def digits_nchw():
    return load_digits(layout="NCHW", limit=300)


@pytest.fixture(scope="module")
def torch_model(digits_nchw):
    from scaledown.foundations.training import train_torch

    model = baseline("torch")
    train_torch(model, digits_nchw.x_train, digits_nchw.y_train, epochs=2, progress=False)
    return model.eval()


def _logits(model, x):
    from scaledown.foundations.training import predict_torch

    return predict_torch(model, x)


def test_batchnorm_folding_keeps_the_outputs(torch_model, digits_nchw):
    from torch import nn

    from scaledown.compress.quantization.batchnorm import fold_conv_bn_torch

    folded = fold_conv_bn_torch(torch_model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    np.testing.assert_allclose(_logits(folded, digits_nchw.x_test), _logits(torch_model, digits_nchw.x_test), atol=1e-5)


def test_straight_through_gradient_is_one_inside_the_range_and_zero_outside():
    import torch

    from scaledown.compress.quantization.torch_qat import fake_quantize_ste

    x = torch.tensor([-3.0, -0.5, 0.0, 0.7, 3.0], requires_grad=True)
    fake_quantize_ste(x, torch.tensor(1 / 64), torch.tensor(0.0)).sum().backward()  # range ±2
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_torch_qat_exports_qdq_onnx_that_onnxruntime_runs(torch_model, digits_nchw, tmp_path):
    import onnx
    import torch

    from scaledown.compress.quantization.onnx import run_onnx
    from scaledown.compress.quantization.torch_qat import export_qdq_onnx, prepare_qat
    from scaledown.foundations.training import train_torch

    qat_model = prepare_qat(torch_model)
    train_torch(
        qat_model, digits_nchw.x_train[:96], digits_nchw.y_train[:96], epochs=1, learning_rate=1e-4, progress=False
    )
    path = export_qdq_onnx(qat_model, torch.as_tensor(digits_nchw.x_test[:1]), tmp_path / "qat.onnx")
    graph = onnx.load(path).graph
    assert "QuantizeLinear" in {node.op_type for node in graph.node}
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) >= 2]
    assert len(int8_weights) == 14  # 13 convs + 1 dense
    outputs = run_onnx(path, digits_nchw.x_test)
    assert sqnr_db(_logits(qat_model, digits_nchw.x_test), outputs) > 30


def test_onnxruntime_static_ptq_runs_and_tracks_the_float_model(torch_model, digits_nchw):
    qmodel = quantize(torch_model, (digits_nchw.x_train,), method="ptq", backend="onnxruntime")
    assert qmodel.path.suffix == ".onnx"
    assert sqnr_db(_logits(torch_model, digits_nchw.x_test), qmodel.predict(digits_nchw.x_test)) > 15


def test_nncf_openvino_ir_runs_and_tracks_the_float_model(torch_model, digits_nchw, tmp_path):
    qmodel = quantize(torch_model, (digits_nchw.x_train,), method="ptq", backend="openvino", num_calibration=100)
    saved = qmodel.save(tmp_path / "digits.xml")
    assert saved.with_suffix(".bin").exists() and qmodel.size_bytes > 0
    assert sqnr_db(_logits(torch_model, digits_nchw.x_test), qmodel.predict(digits_nchw.x_test)) > 15


def test_depthwise_layers_gain_most_from_per_channel_weights(torch_model, digits_nchw):
    x, y = digits_nchw.x_test[:100], digits_nchw.y_test[:100]
    per_tensor, per_channel = layer_sensitivity(torch_model, x, y), layer_sensitivity(torch_model, x, y, True)
    gains = [c["weight_sqnr_db"] - t["weight_sqnr_db"] for t, c in zip(per_tensor, per_channel)]
    assert all(gain >= -0.5 for gain in gains)
    kinds = [row["kind"] for row in per_tensor]
    depthwise = np.mean([g for g, k in zip(gains, kinds) if k == "depthwise"])
    others = np.mean([g for g, k in zip(gains, kinds) if k != "depthwise"])
    assert depthwise > others


# --- Keras → TFLite: PTQ, QAT, LiteRT and TFLite Micro ----------------------------------------------------


@pytest.fixture(scope="module")
def digits_nhwc():
    return load_digits(layout="NHWC", limit=300)


@pytest.fixture(scope="module")
def keras_model(digits_nhwc):
    from scaledown.foundations.training import train_keras

    model = baseline("keras")
    train_keras(model, digits_nhwc.x_train, digits_nhwc.y_train, epochs=2)
    return model


@pytest.fixture(scope="module")
def keras_ptq(keras_model, digits_nhwc):
    return quantize(keras_model, (digits_nhwc.x_train,), method="ptq")


def test_keras_ptq_tflite_is_full_integer(keras_ptq):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(keras_ptq.path))
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    weights = [t for t in interpreter.get_tensor_details() if len(t["shape"]) == 4 and "conv" in t["name"].lower()]
    assert weights and all(t["dtype"] == np.int8 for t in weights)


def test_keras_ptq_weights_are_a_quarter_of_the_float_weights_and_the_parts_add_up(keras_model, keras_ptq):
    # A flatbuffer holds, besides the weights, names and per-channel scales: for this
    # 37k-parameter model they are more than half of the int8 file, so compare the weights themselves.
    float_parts = quantize(keras_model, (None,), method="none").size_breakdown()
    int8_parts = keras_ptq.size_breakdown()
    assert 4 * int8_parts["weights"] == float_parts["weights"] > 0
    assert int8_parts["weights"] + int8_parts["other_constants"] + int8_parts["graph"] == int8_parts["file"]
    assert keras_ptq.size_bytes < float_parts["file"]


def test_an_untrained_model_needs_random_batchnorm_to_measure_file_sizes(digits_nhwc):
    from scaledown.foundations.models import randomize_batchnorm

    untrained, randomised = baseline("keras"), randomize_batchnorm(baseline("keras"))
    sizes = [quantize(m, (digits_nhwc.x_train[:16],), method="none").size_bytes for m in (untrained, randomised)]
    assert sizes[0] < sizes[1]  # identical zero biases are stored once
    gammas = randomised.get_layer("stem_bn").get_weights()[0]
    assert len(set(gammas.tolist())) == len(gammas)


def test_size_breakdown_rejects_other_files(tmp_path):
    with pytest.raises(ValueError, match=r"path=.*model\.pt.* use a \.tflite, \.onnx or OpenVINO \.xml"):
        size_breakdown(tmp_path / "model.pt")


def test_litert_and_tflite_micro_give_identical_int8_outputs(keras_ptq):
    # The baseline's int8 file, every test digit: LiteRT's reference kernels and TFLite Micro agree bit for bit.
    from scaledown.compress.quantization.tensorflow import run_tflite
    from scaledown.foundations.hardware.tflite_reader import read_tflite

    x = load_digits(layout="NHWC").x_test
    litert = run_tflite(keras_ptq.path, x, runtime="litert", reference_kernels=True, raw=True)
    micro = run_tflite(keras_ptq.path, x, runtime="tflm", raw=True)
    assert litert.dtype == micro.dtype == np.int8 and litert.shape == (360, 10)
    np.testing.assert_array_equal(litert, micro)
    # ... because the classifier is a 1x1 conv: no FULLY_CONNECTED, whose int8 rounding differs on ties
    assert "FULLY_CONNECTED" not in {op.type for op in read_tflite(keras_ptq.path.read_bytes()).ops}


@pytest.fixture(scope="module")
def keras_trained(digits_nhwc):
    """A baseline trained until its BatchNorm statistics work in inference mode (test accuracy about 0.8).

    After ``keras_model``'s two epochs it still predicts one class for every digit, and
    an accuracy kept by QAT would say nothing.
    """
    from scaledown.foundations.training import train_keras

    model = baseline("keras")
    train_keras(model, digits_nhwc.x_train, digits_nhwc.y_train, epochs=8)
    return model


def _accuracy(logits, labels):
    return float(np.mean(np.argmax(logits, axis=1) == labels))


@pytest.fixture(scope="module")
def keras_qat(keras_trained, digits_nhwc):
    """``(qat_model, tflite_bytes)``: tfmot's fake-quantized model after one epoch of QAT, and its int8 file."""
    from scaledown.compress.quantization import tensorflow as tfl

    qat_model = tfl.prepare_qat_keras(keras_trained)
    tfl.fit_qat_keras(qat_model, digits_nhwc.x_train[:64], digits_nhwc.y_train[:64], epochs=1)
    return qat_model, tfl.qat_tflite(qat_model)


def test_keras_qat_fake_quantizes_every_kernel_and_activation_onto_the_int8_grid(keras_trained, keras_qat, digits_nhwc):
    import keras

    from scaledown.compress.quantization.tensorflow import TFLiteRunner

    qat_model, content = keras_qat
    names = {w.name.split(":")[0] for w in qat_model.weights}
    for layer in keras_trained.layers:  # a learnt range for every conv kernel and every ReLU6 output
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            kernel = "depthwise_kernel" if isinstance(layer, keras.layers.DepthwiseConv2D) else "kernel"
            assert {f"quant_{layer.name}/{kernel}_min", f"quant_{layer.name}/{kernel}_max"} <= names, layer.name
        if isinstance(layer, keras.layers.ReLU):
            assert {f"quant_{layer.name}/output_min", f"quant_{layer.name}/output_max"} <= names, layer.name
    # The QAT model's logits are already int8 values: multiples of the int8 file's output scale
    # (from its zero point), which the float model's logits are not.
    output = TFLiteRunner(content).output_details["quantization_parameters"]
    scale, zero_point = output["scales"][0], output["zero_points"][0]
    x = digits_nhwc.x_test

    def distance_to_grid(logits):
        steps = np.asarray(logits) / scale + zero_point
        return np.abs(steps - np.round(steps)).max()

    assert distance_to_grid(qat_model(x, training=False)) < 1e-3
    assert distance_to_grid(keras_trained(x, training=False)) > 0.4


def test_keras_qat_int8_tflite_computes_what_the_qat_model_simulated(keras_trained, keras_qat, digits_nhwc):
    from scaledown.compress.quantization.tensorflow import TFLiteRunner

    qat_model, content = keras_qat
    x = digits_nhwc.x_test
    runner = TFLiteRunner(content, reference_kernels=True)
    int8 = runner.predict(x)
    scale = runner.output_details["quantization_parameters"]["scales"][0]
    simulated, float_logits = np.asarray(qat_model(x, training=False)), np.asarray(keras_trained(x, training=False))
    # The converter folds BatchNorm into the kernels after training, which moves some logits by a
    # few steps (1.4 to 1.7 on average) but with no bias (-0.2); the float model's are further off (4.0).
    error = (int8 - simulated) / scale  # in steps of the int8 output
    assert abs(error.mean()) < 1 and np.abs(error).mean() < 3
    assert sqnr_db(simulated, int8) > sqnr_db(float_logits, int8) + 3  # measured: 25 dB against 17 dB
    assert np.mean(int8.argmax(1) == simulated.argmax(1)) > 0.95  # measured: 98.6% (the float model: 94.7%)


def test_keras_qat_with_tfmot_converts_to_an_int8_tflite_that_keeps_the_accuracy(keras_trained, digits_nhwc):
    from ai_edge_litert.interpreter import Interpreter

    data = (digits_nhwc.x_train[:64], digits_nhwc.y_train[:64])
    qmodel = quantize(keras_trained, data, method="qat", epochs=1)
    assert qmodel.backend == "tflite" and qmodel.method == "qat"
    interpreter = Interpreter(model_path=str(qmodel.path))
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    weights = [t for t in interpreter.get_tensor_details() if len(t["shape"]) == 4 and "conv" in t["name"].lower()]
    assert weights and all(t["dtype"] == np.int8 for t in weights)
    x, y = digits_nhwc.x_test, digits_nhwc.y_test
    float_accuracy = _accuracy(keras_trained(x, training=False), y)
    assert float_accuracy > 0.5  # so that keeping it means something (chance is 0.1)
    assert _accuracy(qmodel.predict(x, runtime="tflm"), y) > float_accuracy - 0.05


# --- the entry point ----------------------------------------------------------------------------------------


def test_unsupported_model_raises_one_sentence_listing_what_is_supported():
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match=r"quantize\(\) supports .*got \(sklearn.LogisticRegression"):
        quantize(LogisticRegression(), (np.zeros((2, 3)),))


def test_unsupported_backend_for_keras_raises(keras_model):
    with pytest.raises(ValueError, match=r"got \(keras, 'ptq' → 'openvino'\)"):
        quantize(keras_model, (np.zeros((2, 32, 32, 1)),), backend="openvino")


def test_import_scaledown_imports_no_framework():
    import subprocess
    import sys

    code = "import sys, scaledown; scaledown.quantize; print(any(m in sys.modules for m in ('torch', 'tensorflow')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


# --- Integer-only inference: the requantization of an int8 layer, by hand -----------------------------------
# The same arithmetic as notebook 02, section 10: an int32 accumulator rescaled by M = s_in · s_w / s_out,
# held as a Q31 integer M0 and a right shift (gemmlowp's and TFLite's MultiplyByQuantizedMultiplier).


def _quantize_multiplier(multiplier):
    import math

    fraction, shift = math.frexp(multiplier)
    m0 = round(fraction * 2**31)
    return (m0 // 2, shift + 1) if m0 == 2**31 else (m0, shift)


def _rounding_high_mul(a, b):
    product = np.asarray(a, np.int64) * np.asarray(b, np.int64)
    total = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    return np.where(total >= 0, total >> 31, -((-total) >> 31))  # no saturation needed: |acc| < 2**31 - 1


def _rounding_shift_right(x, exponent):
    mask = (np.int64(1) << exponent) - 1
    return (x >> exponent) + ((x & mask) > (mask >> 1) + (x < 0))


def _requantize(acc, m0, shift):
    return _rounding_shift_right(_rounding_high_mul(acc << np.maximum(shift, 0), m0), np.maximum(-shift, 0))


def test_hand_requantization_of_the_first_conv_matches_litert_reference_kernels_bit_for_bit(keras_ptq):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from scaledown.compress.quantization.tensorflow import TFLiteRunner

    interpreter = Interpreter(
        model_path=str(keras_ptq.path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    tensors = {t["index"]: t["quantization_parameters"] for t in interpreter.get_tensor_details()}
    layer = interpreter._get_ops_details()[0]
    assert layer["op_name"] == "CONV_2D"
    (input_index, weight_index, bias_index), output_index = layer["inputs"], layer["outputs"][0]
    runner, inputs, outputs = TFLiteRunner(keras_ptq.path), [], []
    for image in load_digits(layout="NHWC", limit=300).x_test[:20]:
        interpreter.set_tensor(input_index, runner.quantize_input(image[None]))
        interpreter.invoke()
        inputs.append(interpreter.get_tensor(input_index)[0])
        outputs.append(interpreter.get_tensor(output_index)[0])
    q_in, litert = np.stack(inputs).astype(np.int64), np.stack(outputs).astype(np.int64)
    weights = interpreter.get_tensor(weight_index).astype(np.int64)  # (C_out, 3, 3, C_in), stride 2, SAME
    z_in, s_in = int(tensors[input_index]["zero_points"][0]), np.float64(tensors[input_index]["scales"][0])
    z_out, s_out = int(tensors[output_index]["zero_points"][0]), np.float64(tensors[output_index]["scales"][0])
    assert litert.shape[1:] == (16, 16, weights.shape[0]) and q_in.shape[1:3] == (32, 32)

    padded = np.pad(q_in - z_in, ((0, 0), (0, 1), (0, 1), (0, 0)))  # SAME, stride 2: one row and column after
    acc = interpreter.get_tensor(bias_index).astype(np.int64) + sum(
        padded[:, dy : dy + 32 : 2, dx : dx + 32 : 2, :] @ weights[:, dy, dx, :].T for dy in range(3) for dx in range(3)
    )
    m0, shift = map(
        np.array,
        zip(
            *(
                _quantize_multiplier(float(s_in * s_w / s_out))
                for s_w in tensors[weight_index]["scales"].astype(np.float64)
            )
        ),
    )
    assert ((2**30 <= m0) & (m0 < 2**31)).all()
    hand = np.clip(_requantize(acc, m0, shift) + z_out, max(-128, z_out), min(127, z_out + round(6 / s_out)))
    assert hand.size == 20 * 16 * 16 * weights.shape[0]
    np.testing.assert_array_equal(hand, litert)
