"""scaledown.foundations.models: the same architecture in Keras and PyTorch, built from one spec."""

import numpy as np
import pytest

from scaledown.foundations.models import (
    ArchitectureSpec,
    build,
    efficientnet_lite,
    efficientnet_lite_spec,
    make_divisible,
    mobilenet_v1,
    mobilenet_v1_spec,
    mobilenet_v2,
    mobilenet_v2_spec,
)

SPEC_FUNCTIONS = [mobilenet_v1_spec, mobilenet_v2_spec, efficientnet_lite_spec]
# (width, depth, input_shape): default, narrow + deeper at MNIST's odd-after-two-halvings 28x28, wider RGB 48x48.
SETTINGS = [(1.0, 1.0, (32, 32, 1)), (0.5, 2.0, (28, 28, 1)), (0.75, 0.5, (48, 48, 3))]


def _keras_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _torch_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _torch_bn_statistics(model):
    return sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))


@pytest.mark.parametrize("spec_function", SPEC_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("width, depth, input_shape", SETTINGS)
def test_keras_and_torch_have_the_same_parameters_and_output_shape(spec_function, width, depth, input_shape):
    torch = pytest.importorskip("torch")
    pytest.importorskip("keras")
    spec = spec_function(input_shape=input_shape, num_classes=7, width=width, depth=depth)
    keras_model, torch_model = build(spec, "keras"), build(spec, "torch").eval()

    assert _keras_trainable(keras_model) == _torch_trainable(torch_model) == spec.count_parameters()
    total = spec.count_parameters(include_bn_statistics=True)
    assert keras_model.count_params() == _torch_trainable(torch_model) + _torch_bn_statistics(torch_model) == total

    height, width_px, channels = input_shape
    keras_out = keras_model(np.zeros((2, height, width_px, channels), "float32"), training=False)
    torch_out = torch_model(torch.zeros(2, channels, height, width_px))
    assert tuple(keras_out.shape) == tuple(torch_out.shape) == (2, 7)


@pytest.mark.parametrize("spec_function", SPEC_FUNCTIONS, ids=lambda f: f.__name__)
def test_every_keras_feature_map_has_the_spec_shape(spec_function):
    pytest.importorskip("keras")
    spec = spec_function(input_shape=(28, 28, 1))
    model = build(spec, "keras")
    for row in spec.layers()[1:-1]:  # blocks and head
        last_layer = [layer for layer in model.layers if layer.name.startswith(row["name"] + "_")][-1]
        assert tuple(last_layer.output.shape[1:]) == (*row["output_hw"], row["out_channels"])


@pytest.mark.parametrize("spec_function", SPEC_FUNCTIONS, ids=lambda f: f.__name__)
def test_width_multiplier_reduces_parameters_and_macs(spec_function):
    full, half = spec_function(), spec_function(width=0.5)
    assert half.count_parameters() < full.count_parameters()
    assert half.count_macs() < full.count_macs()


@pytest.mark.parametrize("spec_function", SPEC_FUNCTIONS, ids=lambda f: f.__name__)
def test_depth_multiplier_adds_blocks(spec_function):
    assert len(spec_function(depth=2.0).blocks) > len(spec_function().blocks) > len(spec_function(depth=0.5).blocks)


def test_depth_rounds_each_stage_up():
    # v1 stage repeats are 1, 1, 2, 2: times 0.5 and rounded up gives 1, 1, 1, 1.
    assert len(mobilenet_v1_spec(depth=0.5).blocks) == 4
    assert len(mobilenet_v1_spec(depth=1.5).blocks) == 2 + 2 + 3 + 3


def test_resolution_changes_macs_not_parameters():
    small, large = mobilenet_v1_spec(input_shape=(32, 32, 1)), mobilenet_v1_spec(input_shape=(64, 64, 1))
    assert small.count_parameters() == large.count_parameters()
    assert large.count_macs() > 3 * small.count_macs()


def test_v2_residual_adds_where_stride_is_one_and_channels_match():
    pytest.importorskip("keras")
    spec = mobilenet_v2_spec()
    expected = [f"block{i}_add" for i, row in enumerate(spec.layers()[1:-2]) if row["residual"]]
    assert expected == ["block0_add", "block2_add", "block4_add", "block6_add"]
    model = build(spec, "keras")
    assert [layer.name for layer in model.layers if layer.__class__.__name__ == "Add"] == expected


def test_torch_inverted_residual_uses_the_skip_where_keras_adds():
    pytest.importorskip("torch")
    from scaledown.foundations.models.torch_builder import InvertedResidual

    model = build(mobilenet_v2_spec(), "torch")
    skips = [name for name, m in model.named_children() if isinstance(m, InvertedResidual) and m.use_residual]
    assert skips == ["block0", "block2", "block4", "block6"]


def test_mobilenet_v1_has_no_residual_adds():
    assert not any(row["residual"] for row in mobilenet_v1_spec().layers())


def test_efficientnet_lite_uses_kernels_3_and_5():
    assert {block.kernel_size for block in efficientnet_lite_spec().blocks} == {3, 5}


@pytest.mark.parametrize(
    "value, expected", [(16, 16), (12, 16), (4, 8), (1, 8), (32 * 0.75, 24), (20, 24), (36, 40), (100, 104)]
)
def test_make_divisible(value, expected):
    assert make_divisible(value) == expected


def test_make_divisible_never_drops_more_than_ten_percent():
    # 11 rounds to 8 by nearest multiple, a 27% drop: it goes up to 16 instead.
    assert make_divisible(11) == 16
    for value in range(1, 500):
        assert make_divisible(value) % 8 == 0 and make_divisible(value) >= 0.9 * value


@pytest.mark.parametrize("spec_function", SPEC_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(width=0), "width"),
        (dict(width=-0.5), "width"),
        (dict(depth=0), "depth"),
        (dict(input_shape=(32, 32)), "input_shape"),
        (dict(input_shape=(32, 0, 1)), "input_shape"),
        (dict(input_shape=(32.0, 32, 1)), "input_shape"),
        (dict(num_classes=0), "num_classes"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(spec_function, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        spec_function(**kwargs)


@pytest.mark.parametrize("kernel_size", [2, 0, 4])
def test_even_kernel_raises_value_error(kernel_size):
    with pytest.raises(ValueError, match="kernel_size.*odd"):
        mobilenet_v1_spec(kernel_size=kernel_size)
    with pytest.raises(ValueError, match="kernel_size.*odd"):
        mobilenet_v2_spec(kernel_size=kernel_size)


@pytest.mark.parametrize("builder", [mobilenet_v1, mobilenet_v2, efficientnet_lite])
def test_unknown_framework_raises_value_error_listing_accepted(builder):
    with pytest.raises(ValueError, match="framework='jax'.*keras.*torch"):
        builder(framework="jax")


def test_convenience_builder_returns_the_framework_model():
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    assert isinstance(mobilenet_v1(width=0.25, framework="torch"), torch.nn.Module)
    assert isinstance(mobilenet_v1(width=0.25), keras.Model)


def test_with_changes_returns_a_modified_copy():
    spec = mobilenet_v1_spec()
    binary = spec.with_changes(num_classes=2)
    assert isinstance(binary, ArchitectureSpec)
    assert (binary.num_classes, spec.num_classes) == (2, 10)
    assert binary.count_parameters() == spec.count_parameters() - 8 * 128 - 8


def test_describe_lists_every_layer_and_the_totals():
    spec = mobilenet_v2_spec()
    text = spec.describe()
    for row in spec.layers():
        assert row["name"] in text
    assert f"{spec.count_parameters():,}" in text and f"{spec.count_macs():,}" in text


def test_default_parameter_counts():
    # The numbers the course text quotes; a change to the stage tables must update them.
    assert mobilenet_v1_spec().count_parameters() == 37_338
    assert mobilenet_v1_spec(width=0.5).count_parameters() == 10_802
    assert mobilenet_v1_spec(width=0.25).count_parameters() == 3_658
    assert mobilenet_v2_spec().count_parameters() == 124_522
    assert efficientnet_lite_spec().count_parameters() == 218_122


def test_efficientnet_lite_is_relu6_without_squeeze_excite():
    # the "lite" rules the chapter states: every activation ReLU6, no squeeze-and-excite branch
    keras = pytest.importorskip("keras")
    import scaledown

    model = efficientnet_lite(framework="keras")
    kinds = {layer.__class__.__name__ for layer in model.layers}
    assert not kinds & {"Multiply", "Activation"}  # SE multiplies by a sigmoid; swish is an Activation layer
    relus = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    assert relus and all(float(layer.max_value) == 6.0 for layer in relus)
    ops = scaledown.profile(model, target="nano33ble").ops
    assert ops.get("MEAN") == 1 and "MUL" not in ops and "LOGISTIC" not in ops  # one pooling: the classifier's
