"""Targets, the graph IR and the readers of scaledown.foundations.hardware."""

import re
import subprocess
from pathlib import Path

import pytest

from scaledown.foundations.hardware import TARGETS, get_target, list_targets, read_graph, targets_table
from scaledown.foundations.hardware.graph import Graph, Op, Tensor, count_macs, count_params, peak_activation_bytes
from scaledown.foundations.hardware.targets import TFLITE_MICRO_OPS


def test_get_target_by_id_and_alias_ignores_case():
    assert get_target("NANO33BLE").ram_bytes == 262144
    assert get_target("nano33ble").flash_bytes == 1048576
    assert get_target("Pi") is TARGETS["pi4"]


def test_unknown_target_names_the_choices():
    with pytest.raises(
        ValueError,
        match=re.escape("Unknown target 'foo': choose one of esp32s3, nano33ble, pi (pi4), pi4, pi5, stm32h7."),
    ):
        get_target("foo")


def test_catalogue_lists_every_target():
    assert list_targets() == ["esp32s3", "nano33ble", "pi4", "pi5", "stm32h7"]
    assert all(t in targets_table() for t in list_targets())


def test_tflite_micro_ops_are_registered_in_the_installed_runtime():
    tflm = pytest.importorskip("tflite_micro")
    libraries = list(Path(tflm.__file__).parent.rglob("_runtime*.so"))
    try:
        symbols = subprocess.run(
            ["nm", "-D", "-C", str(libraries[0])], capture_output=True, text=True, check=True
        ).stdout
    except (IndexError, OSError, subprocess.CalledProcessError):
        pytest.skip("cannot read the symbol table of the tflite-micro runtime")
    registered = set(re.findall(r"tflite::micro::Register_(\w+)\(\)", symbols))
    assert TFLITE_MICRO_OPS <= registered, sorted(TFLITE_MICRO_OPS - registered)


def test_peak_activation_follows_liveness_through_a_residual_branch():
    # x -> a -> b, then c = x + b, then y: x stays alive until the ADD.
    sizes = {"x": 100, "a": 200, "b": 50, "c": 100, "y": 10}
    tensors = {n: Tensor(n, (s,), "int8") for n, s in sizes.items()}
    ops = [
        Op("conv_a", "CONV_2D", ["x"], ["a"]),
        Op("conv_b", "CONV_2D", ["a"], ["b"]),
        Op("add", "ADD", ["x", "b"], ["c"]),
        Op("dense", "FULLY_CONNECTED", ["c"], ["y"]),
    ]
    graph = Graph(ops, tensors, ["x"], ["y"], "test")
    # conv_a: x+a = 300; conv_b: x+a+b = 350; add: x+b+c = 250; dense: c+y = 110
    assert peak_activation_bytes(graph) == (350, "conv_b")


def _tiny_keras_model():
    import keras

    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),  # 6x6x4 output
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(3),
        ]
    )


def test_keras_macs_and_params_match_hand_count():
    model = _tiny_keras_model()
    graph = read_graph(model)
    conv_macs = 6 * 6 * 4 * 3 * 3 * 1
    dense_macs = 6 * 6 * 4 * 3
    assert count_macs(graph) == conv_macs + dense_macs
    assert count_params(graph) == model.count_params() == (3 * 3 * 4 + 4) + 4 * 4 + (144 * 3 + 3)


def test_torch_macs_and_params_match_hand_count():
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)
            self.fc = nn.Linear(4 * 6 * 6, 3)

        def forward(self, x):
            x = nn.functional.relu(self.bn(self.conv(x)))
            x = x + self.depthwise(x)
            return self.fc(x.flatten(1))

    model = Net()
    graph = read_graph(model, input_shape=(1, 1, 8, 8))
    assert count_params(graph) == sum(p.numel() for p in model.parameters())
    assert count_macs(graph) == 6 * 6 * 4 * 9 + 6 * 6 * 4 * 9 + 144 * 3
    assert [op.type for op in graph.ops if op.type != "FOLDED"] == [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "ADD",
        "RESHAPE",
        "FULLY_CONNECTED",
    ]


def test_corrupt_tflite_file_is_one_sentence_value_error(tmp_path):
    path = tmp_path / "broken.tflite"
    path.write_bytes(b"not a flatbuffer")
    with pytest.raises(
        ValueError,
        match=r"^Cannot read '.*broken\.tflite' as a TensorFlow Lite "
        r"model \(.*\): expected .*\.$",
    ) as error:
        read_graph(path)
    assert str(error.value).count(". ") == 0


def test_other_suffix_and_missing_file_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="model.pt"):
        read_graph(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="No file at"):
        read_graph(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="Cannot profile a list"):
        read_graph([1, 2])
