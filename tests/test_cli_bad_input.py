"""Bad input at the command line: one sentence on stderr, exit code ≠ 0, no traceback, nothing left behind.

Every file type the CLI takes (.tflite, .onnx, .keras, and a .pt it does not take), each
corrupt, truncated and empty; representative data that is wrong-shaped, empty, not
numbers or not a .npy; an unknown target; a model too large for the board; an op the
board's runtime lacks — for ``scaledown profile`` and ``scaledown deploy`` to a Linux
board and to a microcontroller, and for ``scaledown compile`` (the model compiler; its other
bad input is in tests/test_compiler_cli.py).
"""

import numpy as np
import pytest

from scaledown import cli


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good model files to corrupt: a Keras model, its float and int8 .tflite, an .onnx, a .pt."""
    import keras
    import onnx
    import tensorflow as tf
    import torch
    from onnx import TensorProto, helper

    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    model.save(folder / "good.keras")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    (folder / "good.tflite").write_bytes(converter.convert())
    data = np.random.default_rng(0).uniform(0, 1, (32, 8, 8, 1)).astype(np.float32)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in data)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (folder / "int8.tflite").write_bytes(converter.convert())
    big = keras.Sequential([keras.Input((64,)), keras.layers.Dense(1024), keras.layers.Dense(900)])
    big_converter = tf.lite.TFLiteConverter.from_keras_model(big)
    big_data = np.random.default_rng(1).normal(size=(8, 64)).astype(np.float32)
    big_converter.optimizations = [tf.lite.Optimize.DEFAULT]
    big_converter.representative_dataset = lambda: ([x[None]] for x in big_data)
    big_converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    big_converter.inference_input_type = big_converter.inference_output_type = tf.int8
    (folder / "too_big.tflite").write_bytes(big_converter.convert())  # ~1 MB of int8 weights: over the Nano's
    topk = keras.Sequential([keras.Input((16,)), keras.layers.Lambda(lambda t: tf.math.top_k(t, k=3).values)])
    (folder / "topk.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(topk).convert())
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), folder / "good.onnx")
    torch.save(torch.nn.Linear(4, 2).state_dict(), folder / "good.pt")
    np.save(folder / "data.npy", data)
    return folder


def corrupted(files, tmp_path, name, how):
    good = (files / name).read_bytes()
    bad = tmp_path / f"{how}{(files / name).suffix}"
    bad.write_bytes(
        {
            "empty": b"",
            "truncated": good[: len(good) // 2],
            "garbage": bytes(range(256)) * 8,
            "flipped": good[:64] + bytes(b ^ 0xFF for b in good[64:128]) + good[128:],
        }[how]
    )
    return bad


def run_cli(argv, capsys):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_sentence(code, err, *fragments):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code not in (0, None), err
    assert len(lines) == 1 and lines[0].startswith("scaledown: "), err
    assert "Traceback" not in err and len(lines[0]) < 400, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


MODEL_FILES = ["good.tflite", "good.onnx", "good.keras"]
CORRUPTIONS = ["empty", "truncated", "garbage"]


@pytest.mark.parametrize("command", ["profile", "deploy-pi", "deploy-mcu", "compile"])
@pytest.mark.parametrize("name", MODEL_FILES)
@pytest.mark.parametrize("how", CORRUPTIONS)
def test_a_corrupt_model_file_is_one_sentence_and_leaves_nothing(
    files, tmp_path, capsys, monkeypatch, command, name, how
):
    monkeypatch.chdir(tmp_path)
    bad = corrupted(files, tmp_path, name, how)
    argv = {
        "profile": ["profile", bad],
        "deploy-pi": ["deploy", bad, "--target", "pi4", "--out", tmp_path / "out/pkg"],
        "deploy-mcu": ["deploy", bad, "--target", "nano33ble", "--out", tmp_path / "out/pkg"],
        "compile": ["compile", bad, "--target", "cortex-m4", "--out", tmp_path / "out/pkg", "--no-tflm"],
    }[command]
    code, out, err = run_cli(argv, capsys)
    assert_one_sentence(code, err, bad.name)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["profile", "deploy"])
def test_a_pytorch_checkpoint_is_named_and_the_way_forward_given(files, tmp_path, capsys, command):
    argv = (
        ["profile", files / "good.pt"]
        if command == "profile"
        else ["deploy", files / "good.pt", "--out", tmp_path / "pkg"]
    )
    code, out, err = run_cli(argv, capsys)
    assert_one_sentence(code, err, "good.pt", "ONNX")
    assert not (tmp_path / "pkg").exists()


@pytest.mark.parametrize(
    "data, fragment",
    [
        (np.zeros((16, 9, 9, 1), np.float32), "shape"),
        (np.zeros((0, 8, 8, 1), np.float32), "no samples"),
        (np.array([["a"] * 8] * 8), "numbers"),
        (np.full((16, 8, 8, 1), np.nan, np.float32), "NaN"),
        (b"not an array", ".npy"),
    ],
)
def test_bad_representative_data_is_one_sentence(files, tmp_path, capsys, data, fragment):
    path = tmp_path / "data.npy"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        np.save(path, data)
    code, out, err = run_cli(
        ["deploy", files / "good.keras", "--target", "pi4", "--data", path, "--out", tmp_path / "pkg"], capsys
    )
    assert_one_sentence(code, err, fragment)
    assert not (tmp_path / "pkg").exists()


def test_a_float_keras_model_without_data_says_what_to_pass(files, tmp_path, capsys):
    code, out, err = run_cli(["deploy", files / "good.keras", "--target", "pi4", "--out", tmp_path / "pkg"], capsys)
    assert_one_sentence(code, err, "--data")
    assert not (tmp_path / "pkg").exists()


@pytest.mark.parametrize("command", ["profile", "deploy"])
def test_an_unknown_target_names_the_choices(files, tmp_path, capsys, command):
    argv = (
        ["profile", files / "int8.tflite", "--target", "arduino-uno"]
        if command == "profile"
        else ["deploy", files / "int8.tflite", "--target", "arduino-uno", "--out", tmp_path / "pkg"]
    )
    code, out, err = run_cli(argv, capsys)
    assert_one_sentence(code, err, "arduino-uno", "nano33ble")
    assert not (tmp_path / "pkg").exists()


def test_a_model_too_large_for_the_board_says_by_how_many_bytes(files, tmp_path, capsys):
    code, out, err = run_cli(
        ["deploy", files / "too_big.tflite", "--target", "nano33ble", "--out", tmp_path / "new" / "folders" / "pkg"],
        capsys,
    )
    assert_one_sentence(code, err, "bytes")
    assert not (tmp_path / "new").exists()


def test_an_op_the_runtime_lacks_is_named(files, tmp_path, capsys):
    code, out, err = run_cli(
        ["deploy", files / "topk.tflite", "--target", "nano33ble", "--out", tmp_path / "pkg"], capsys
    )
    assert_one_sentence(code, err, "TOPK")
    assert not (tmp_path / "pkg").exists()


def test_a_missing_file_and_a_folder_are_one_sentence(tmp_path, capsys):
    for argv in (
        ["profile", tmp_path / "nothing.tflite"],
        ["deploy", tmp_path / "nothing.onnx", "--out", tmp_path / "pkg"],
        ["profile", tmp_path],
        ["compile", tmp_path / "nothing.tflite", "--out", tmp_path / "pkg"],
        ["compile", tmp_path, "--out", tmp_path / "pkg"],
        ["emulate", tmp_path / "nothing", "--input", tmp_path / "x.npy", "--output", tmp_path / "pkg" / "y.npy"],
    ):
        code, out, err = run_cli(argv, capsys)
        assert_one_sentence(code, err)
    assert not (tmp_path / "pkg").exists()
