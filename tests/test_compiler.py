"""The model compiler's core: read an int8 .tflite, plan one arena, emit C, run it on the host.

Every model is compiled, built for this computer (``zig cc`` + ctypes) and compared with the
TensorFlow Lite Micro interpreter bit for bit: the two course models (the digits MobileNet v1
and the IMU Conv1D classifier) and one small model per supported op. The arena must never be
larger than TFLite Micro's smallest one. Untrained weights with random biases are enough:
bit-exactness is about the arithmetic, not the accuracy.
"""

import itertools
import json
import os
import sys

import numpy as np
import pytest

from scaledown.deploy.compiler import CompileError, compile_model, draw_plan, plan_memory, read_tflite, run_on_host
from scaledown.deploy.compiler.emit import quantize_multiplier
from scaledown.deploy.micro import measure_arena, run_tflm

N_INPUTS = 100 if os.environ.get("SCALEDOWN_QUICK", "1") == "1" else 1000


def _int8_tflite(model, x):
    from scaledown.compress.quantization.tensorflow import ptq_tflite

    return ptq_tflite(model, x, num_samples=len(x))


def _random_inputs(shape, n=N_INPUTS, seed=1):
    """Random int8 inputs, each sample with its own mean and spread (so a deep untrained net's outputs
    still vary from sample to sample), plus the two extremes (all -128, all 127)."""
    rng = np.random.default_rng(seed)
    spread = (n,) + (1,) * len(shape)
    x = rng.normal(rng.uniform(-120, 120, spread), rng.uniform(1, 120, spread), (n, *shape))
    x = np.clip(np.round(x), -128, 127).astype(np.int8)
    x[0], x[1] = -128, 127
    return x


# --------------------------------------------------------------------------- the models


@pytest.fixture(scope="module")
def digits_tflite():
    """The course's digits baseline (MobileNet v1, width 1.0), untrained, int8."""
    import keras

    from scaledown.foundations import models

    keras.utils.set_random_seed(0)
    model = models.baseline("keras")
    return _int8_tflite(model, np.random.default_rng(0).normal(0, 1, (32, 32, 32, 1)).astype(np.float32))


@pytest.fixture(scope="module")
def gesture_tflite():
    """The IMU Conv1D classifier of tests/test_deploy_micro.py (100 steps x 6 channels), int8."""
    sys.path.insert(0, os.path.dirname(__file__))
    from test_deploy_micro import gesture_model

    return _int8_tflite(gesture_model(), np.random.default_rng(0).normal(0, 3, (40, 100, 6)).astype(np.float32))


@pytest.fixture(scope="module")
def search_result_tflite():
    """Chapter 5's architecture search result (benchmarks/results/nas.json, "found"), untrained, int8."""
    import keras

    from scaledown.compress.nas.space import KNOBS, Candidate
    from scaledown.foundations.models import build

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "benchmarks", "results", "nas.json")) as handle:
        found = json.load(handle)["results"]["found"]
    candidate = Candidate(**{knob: found[knob] for knob in KNOBS if found.get(knob) is not None})
    keras.utils.set_random_seed(0)
    side = candidate.resolution
    x = np.random.default_rng(0).normal(0, 1, (32, side, side, 1)).astype(np.float32)
    return _int8_tflite(build(candidate.spec(), "keras"), x)


COURSE_MODELS = ["digits", "gesture", "search_result"]


def _single_op_model(kind):
    """A tiny Keras model around one kind of op (with random biases so nothing is trivially zero)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    bias = {"bias_initializer": "random_normal"}
    x = keras.Input((9, 9, 4))
    if kind == "conv":  # CONV_2D: SAME stride 2 + RELU6, then VALID with unequal strides
        y = layers.Conv2D(6, 3, strides=2, padding="same", activation="relu6", **bias)(x)
        y = layers.Conv2D(5, (2, 3), strides=(1, 2), padding="valid", **bias)(y)
        y = layers.Conv2D(4, (2, 4), padding="same", **bias)(y)
    elif kind == "depthwise":  # DEPTHWISE_CONV_2D: multiplier 2 SAME, then in place (SAME stride 2, VALID 2x3)
        y = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu", **bias)(x)
        y = layers.DepthwiseConv2D(3, strides=2, padding="same", **bias)(y)
        y = layers.DepthwiseConv2D((2, 3), padding="valid", activation="relu6", **bias)(y)
    elif kind == "dense_softmax":  # FULLY_CONNECTED + SOFTMAX (RESHAPE before it)
        y = layers.Dense(10, **bias)(layers.Flatten()(x))
        y = layers.Softmax()(layers.Dense(24, **bias)(y))
    elif kind == "add":  # ADD of two branches (one written in place over its input)
        a = layers.Conv2D(4, 1, **bias)(x)
        b = layers.Conv2D(4, 3, padding="same", **bias)(x)
        y = layers.ReLU()(layers.Add()([a, b]))
    elif kind == "pool":  # AVERAGE_POOL_2D SAME + MAX_POOL_2D VALID, then MEAN over H, W
        y = layers.AveragePooling2D(3, strides=2, padding="same")(layers.Conv2D(4, 1, **bias)(x))
        y = layers.MaxPooling2D(2, strides=1, padding="valid")(y)
        y = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 1, **bias)(y))
    model = keras.Model(x, y)
    return _int8_tflite(model, np.random.default_rng(0).normal(0, 1, (32, 9, 9, 4)).astype(np.float32))


SINGLE_OPS = {
    "conv": {"CONV_2D"},
    "depthwise": {"DEPTHWISE_CONV_2D"},
    "dense_softmax": {"FULLY_CONNECTED", "SOFTMAX"},
    "add": {"ADD"},
    "pool": {"AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN"},
}


@pytest.fixture(scope="module", params=sorted(SINGLE_OPS))
def single_op(request):
    return request.param, _single_op_model(request.param)


def _compile_and_compare(content, out_dir):
    compiled = compile_model(content, out_dir)
    x = _random_inputs(compiled.input_shape[1:])
    ours, reference = run_on_host(compiled.path, x), run_tflm(content, x)
    return compiled, int(np.count_nonzero(ours != reference.reshape(ours.shape))), reference


# --------------------------------------------------------------------------- bit-exact


@pytest.mark.parametrize("name", COURSE_MODELS)
def test_course_model_is_bit_exact_with_tflite_micro(name, request, tmp_path):
    content = request.getfixturevalue(f"{name}_tflite")
    compiled, mismatches, reference = _compile_and_compare(content, tmp_path / name)
    print(f"\n{name}: {mismatches} mismatching bytes on {N_INPUTS} inputs; ops {compiled.ops}")
    assert mismatches == 0
    assert len(np.unique(reference)) > 10, "the reference outputs barely vary: the check would prove little"


def test_each_supported_op_is_bit_exact_with_tflite_micro(single_op, tmp_path):
    kind, content = single_op
    assert SINGLE_OPS[kind] <= {op.kind for op in read_tflite(content).ops}
    compiled, mismatches, reference = _compile_and_compare(content, tmp_path / kind)
    print(
        f"\n{kind}: {mismatches} mismatching bytes on {N_INPUTS} inputs; ops {compiled.ops}, "
        f"in place: {sorted(compiled.plan.in_place)}"
    )
    assert mismatches == 0
    assert len(np.unique(reference)) > 5


# --------------------------------------------------------------------------- memory


def _assert_plan_is_valid(plan):
    """At every op, the bytes of the buffers alive then are disjoint and inside the arena."""
    for op in range(len(plan.op_names)):
        spans = sorted((b.offset, b.offset + b.size_at(op)) for b in plan.buffers if b.size_at(op))
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans)), (op, spans)
        assert spans[-1][1] <= plan.arena_bytes
    assert plan.lower_bound_bytes <= plan.arena_bytes


@pytest.mark.parametrize("name", COURSE_MODELS)
def test_arena_is_never_larger_than_tflite_micros(name, request, tmp_path):
    content = request.getfixturevalue(f"{name}_tflite")
    compiled = compile_model(content, tmp_path / name)
    plan, tflm = compiled.plan, measure_arena(content).minimum_bytes
    greedy_only = plan_memory(read_tflite(content), in_place=False)
    print(
        f"\n{name}: arena {plan.arena_bytes:,} B (without in place {greedy_only.arena_bytes:,} B), "
        f"lower bound {plan.lower_bound_bytes:,} B, TFLite Micro {tflm:,} B "
        f"({100 * plan.arena_bytes / tflm:.1f}%)"
    )
    _assert_plan_is_valid(plan)
    _assert_plan_is_valid(greedy_only)
    assert plan.arena_bytes <= greedy_only.arena_bytes <= tflm
    if name == "digits":  # the target: at most half of TFLite Micro's arena
        assert plan.arena_bytes <= 0.5 * tflm
    saved = json.loads((compiled.path / "plan.json").read_text())
    assert saved["arena_bytes"] == plan.arena_bytes and saved["lower_bound_bytes"] == plan.lower_bound_bytes
    assert f"#define SD_ARENA_SIZE  {plan.arena_bytes} " in (compiled.path / "model.h").read_text()


def test_reshapes_take_no_memory_and_the_plan_draws(gesture_tflite):
    import matplotlib

    matplotlib.use("Agg")
    graph = read_tflite(gesture_tflite)
    plan = plan_memory(graph)
    reshaped = [op for op in graph.ops if op.kind in ("RESHAPE", "EXPAND_DIMS")]
    assert reshaped and all(plan.offsets[op.inputs[0]] == plan.offsets[op.outputs[0]] for op in reshaped)
    ax = draw_plan(plan)
    assert len(ax.patches) == len(plan.buffers)


# --------------------------------------------------------------------------- arithmetic


def test_quantize_multiplier_follows_tflite():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(0.25) == (1 << 30, -1)
    assert quantize_multiplier(1 - 2**-40) == (1 << 30, 1)  # q rounds up to 1.0: halved, shift + 1
    assert quantize_multiplier(2**-40) == (0, 0)  # shift below -31: the product is 0
    m, shift = quantize_multiplier(0.0123)
    assert abs(m / 2**31 * 2**shift - 0.0123) < 1e-10 and 2**30 <= m < 2**31


# --------------------------------------------------------------------------- refusals


def _refused(content, tmp_path, match):
    out = tmp_path / "out"
    with pytest.raises(CompileError, match=match) as error:
        compile_model(content, out)
    message = str(error.value)
    assert message.count(". ") == 0 and message.endswith("."), message  # one sentence
    assert list(tmp_path.iterdir()) == [], "a refused model left files behind"


def test_unsupported_op_is_refused_by_name(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="tanh")])
    content = _int8_tflite(model, np.random.default_rng(0).normal(0, 1, (16, 8)).astype(np.float32))
    _refused(content, tmp_path, "uses op TANH, which the compiler does not support; supported: CONV_2D")


def test_float_model_is_refused(tmp_path):
    import keras

    from scaledown.compress.quantization.tensorflow import float_tflite

    content = float_tflite(keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)]))
    _refused(content, tmp_path, "float32 input .* full-int8")


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x1c\x00\x00\x00TFL3" + bytes(40)])
def test_corrupt_file_is_refused(content, tmp_path):
    _refused(content, tmp_path, "tflite")


def test_mean_with_the_same_scale_in_and_out_is_bit_exact(gesture_tflite, tmp_path):
    """MEAN when the scale and zero point in and out are equal (the converter never writes that, so the
    gesture model's MEAN output quantization is rewritten in the flatbuffer): TFLite Micro still rescales
    (rounding), where a plain sum / count would truncate and differ on about 1 output in 4."""
    from ai_edge_litert import schema_py_generated as schema

    content = bytearray(gesture_tflite)
    subgraph = schema.Model.GetRootAs(content, 0).Subgraphs(0)
    mean = next(op for op in read_tflite(bytes(content)).ops if op.kind == "MEAN")
    source, target = (subgraph.Tensors(mean.inputs[0]).Quantization(), subgraph.Tensors(mean.outputs[0]).Quantization())
    target.ScaleAsNumpy()[:] = source.ScaleAsNumpy()  # views into the bytearray: written in place
    target.ZeroPointAsNumpy()[:] = source.ZeroPointAsNumpy()
    _, mismatches, _ = _compile_and_compare(bytes(content), tmp_path / "m")
    assert mismatches == 0


def test_a_refused_model_leaves_an_earlier_build_as_it_was(gesture_tflite, tmp_path):
    compiled = compile_model(gesture_tflite, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in compiled.path.iterdir()}
    with pytest.raises(CompileError):
        compile_model(b"\x00" * 64, tmp_path / "out")
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
