"""Microcontroller packages: the C array, the op resolver, the measured arena, and refusals.

The packaged model is read back from the generated ``model_data.cc`` and run in
the TFLite Micro interpreter; its int8 outputs must equal LiteRT's (reference
kernels) bit for bit.
"""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from scaledown.deploy import DeploymentRefused, create_deployment_package
from scaledown.deploy.micro import (
    RESOLVER_METHODS,
    _runs_with,
    c_array,
    measure_arena,
    read_c_array,
    run_litert_reference,
    run_tflm,
)
from scaledown.foundations.hardware.targets import TFLITE_MICRO_OPS


def gesture_model(classes=4):
    """A small fully convolutional IMU classifier (100 steps x 6 channels), like the chapter's."""
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((100, 6)),
            keras.layers.Conv1D(8, 5, strides=2, activation="relu", bias_initializer="random_normal"),
            keras.layers.Conv1D(16, 5, strides=2, activation="relu", bias_initializer="random_normal"),
            keras.layers.GlobalAveragePooling1D(keepdims=True),
            keras.layers.Conv1D(classes, 1, bias_initializer="random_normal"),
            keras.layers.Reshape((classes,)),
        ]
    )


@pytest.fixture(scope="module")
def imu():
    return np.random.default_rng(0).normal(0, 3, (40, 100, 6)).astype(np.float32)


@pytest.fixture(scope="module")
def package(imu, tmp_path_factory):
    out = tmp_path_factory.mktemp("micro") / "gesture-nano"
    return create_deployment_package(
        gesture_model(),
        target="nano33ble",
        out=out,
        representative_data=imu,
        sample_inputs=imu[:16],
        name="gesture",
        class_names=["Standing", "Running", "Walking", "Badminton"],
    )


def test_package_holds_sketch_platformio_and_c_sources(package):
    for name in (
        "model_data.h",
        "model_data.cc",
        "op_resolver.h",
        "model_settings.h",
        "README.md",
        "manifest.json",
        "report.json",
        "arduino/gesture/gesture.ino",
        "arduino/gesture/model_data.cc",
        "platformio/platformio.ini",
        "platformio/src/main.cpp",
        "platformio/src/op_resolver.h",
    ):
        assert (package.path / name).is_file(), name
    ini = (package.path / "platformio" / "platformio.ini").read_text()
    assert "board = nano33ble" in ini and "framework = arduino" in ini
    assert "RegisterOps(resolver)" in (package.path / "arduino/gesture/gesture.ino").read_text()


def test_model_read_back_from_c_array_matches_litert_bit_for_bit(package, imu):
    content = read_c_array((package.path / "model_data.cc").read_text())
    assert content == (package.path / "samples" / "model.tflite").read_bytes()
    spec = package.manifest["inputs"][0]["quantization"]
    x = np.clip(np.round(imu / spec["scale"][0]) + spec["zero_point"][0], -128, 127).astype(np.int8)
    tflm = run_tflm(content, x, arena_size=package.manifest["arena"]["bytes"])
    np.testing.assert_array_equal(tflm, run_litert_reference(content, x))
    np.testing.assert_array_equal(
        run_tflm(content, np.load(package.path / "samples" / "inputs_int8.npy")),
        np.load(package.path / "samples" / "expected_outputs_int8.npy"),
    )
    assert package.report["bit_exact"]


def test_c_array_is_aligned_and_round_trips():
    content = bytes(range(256)) * 3 + b"\x01"
    header, source = c_array(content)
    assert "alignas(16) const unsigned char g_model[]" in source and "extern const unsigned int g_model_len;" in header
    assert f"g_model_len = {len(content)};" in source
    assert read_c_array(source) == content


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a C++ compiler")
def test_c_sources_compile_and_hold_the_model(package, tmp_path):
    (tmp_path / "dump.cc").write_text(
        '#include <cstdio>\n#include "model_data.h"\n#include "model_settings.h"\n'
        "int main() { fwrite(g_model, 1, g_model_len, stdout);\n"
        "  return (reinterpret_cast<unsigned long>(g_model) % 16 == 0 && kTensorArenaSize > 0) ? 0 : 1; }\n"
    )
    build = subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-Wall",
            "-Werror",
            "-I",
            str(package.path),
            str(tmp_path / "dump.cc"),
            str(package.path / "model_data.cc"),
            "-o",
            str(tmp_path / "dump"),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tmp_path / "dump")], capture_output=True)
    assert run.returncode == 0 and run.stdout == (package.path / "samples" / "model.tflite").read_bytes()


def test_op_resolver_registers_exactly_the_models_ops(package):
    text = (package.path / "op_resolver.h").read_text()
    registered = re.findall(r"resolver\.(Add\w+)\(\)", text)
    expected = sorted(RESOLVER_METHODS[op] for op in package.manifest["ops"])
    assert sorted(registered) == expected
    assert f"MicroMutableOpResolver<{len(expected)}>" in text


def test_every_tflite_micro_op_has_a_resolver_method():
    assert set(RESOLVER_METHODS) == set(TFLITE_MICRO_OPS)


def test_arena_is_measured_then_given_a_margin(package):
    content = (package.path / "samples" / "model.tflite").read_bytes()
    usage = measure_arena(content)
    arena = package.manifest["arena"]
    assert arena["measured_bytes"] == usage.minimum_bytes
    assert arena["bytes"] >= 1.25 * usage.minimum_bytes and arena["bytes"] % 1024 == 0
    model_file = package.path / "samples" / "model.tflite"
    assert _runs_with(model_file, usage.minimum_bytes)  # in a child process: a too-small arena may crash TFLM
    assert not _runs_with(model_file, usage.minimum_bytes - 16)
    assert not _runs_with(model_file, usage.minimum_bytes - 1)  # the smallest, to the byte: nothing overstated
    assert f"kTensorArenaSize = {arena['bytes']};" in (package.path / "model_settings.h").read_text()


def test_report_compares_flash_and_sram_with_the_board(package):
    report = json.loads((package.path / "report.json").read_text())
    assert report["model_flash_bytes"] == len((package.path / "samples" / "model.tflite").read_bytes())
    assert report["flash_available_bytes"] == 1024 * 1024 - 128 * 1024
    assert report["ram_available_bytes"] == 256 * 1024 - 64 * 1024
    assert report["arena_bytes"] <= 32 * 1024 and report["model_flash_bytes"] <= 100 * 1024


def test_unsupported_ops_are_refused_by_name(imu, tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((100, 6)), keras.layers.Flatten(), keras.layers.Dense(8, activation="gelu"), keras.layers.Dense(4)]
    )
    with pytest.raises(DeploymentRefused, match=r"lacks the ops GELU.*quantization.*pruning.*architecture search"):
        create_deployment_package(model, target="nano33ble", out=tmp_path / "x", representative_data=imu)
    assert list(tmp_path.iterdir()) == []


def test_model_over_the_arena_is_refused_with_the_bytes_over(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((128, 128, 3)), keras.layers.Conv2D(16, 3, padding="same"), keras.layers.GlobalAveragePooling2D()]
    )
    data = np.random.default_rng(0).uniform(0, 1, (4, 128, 128, 3)).astype(np.float32)
    with pytest.raises(DeploymentRefused, match=r"bytes over the 196,608 bytes of SRAM nano33ble has left"):
        create_deployment_package(model, target="nano33ble", out=tmp_path / "x", representative_data=data)
    assert list(tmp_path.iterdir()) == []


def test_existing_package_survives_a_refusal(package, imu, tmp_path):
    import keras

    out = tmp_path / "pkg"
    shutil.copytree(package.path, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    gelu = keras.Sequential([keras.Input((100, 6)), keras.layers.Flatten(), keras.layers.Dense(4, activation="gelu")])
    with pytest.raises(DeploymentRefused):
        create_deployment_package(gelu, target="nano33ble", out=out, representative_data=imu)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]


def test_pytorch_and_onnx_are_refused_for_microcontrollers(tmp_path):
    import torch

    with pytest.raises(DeploymentRefused, match="PyTorch models do not run on TFLite Micro"):
        create_deployment_package(
            torch.nn.Linear(4, 2),
            target="esp32s3",
            out=tmp_path / "x",
            representative_data=np.zeros((4, 4), np.float32),
        )
    import onnx
    from onnx import TensorProto, helper

    onnx_file = tmp_path / "m.onnx"
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), onnx_file)
    with pytest.raises(DeploymentRefused, match="ONNX models do not run on TFLite Micro"):
        create_deployment_package(onnx_file, target="stm32h7", out=tmp_path / "y")


def test_float_tflite_is_refused_for_microcontrollers(tmp_path):
    from scaledown.compress.quantization.tensorflow import float_tflite

    content = float_tflite(gesture_model())
    with pytest.raises(DeploymentRefused, match="full-int8"):
        create_deployment_package(content, target="nano33ble", out=tmp_path / "x")


@pytest.mark.parametrize(
    "name", ["wave", 'say "hi"', "back\\slash", "new\nline", "café ☕", "x??=y", "*/ int x; /*", "\0nul", "\\101"]
)
def test_class_names_become_c_string_literals_that_say_exactly_them(name):
    import re

    from scaledown.deploy.micro import _c_string

    literal = _c_string(name)
    assert literal.startswith('"') and literal.endswith('"')
    body = literal[1:-1]
    assert all(32 <= ord(c) < 127 for c in body) and "??" not in body
    assert re.fullmatch(r'(?:[^"\\]|\\[0-7]{3}|\\["\\?])*', body), body  # no bare quote, no other escape
    decoded = re.sub(
        rb'\\([0-7]{3}|["\\?])',  # one pass, as a C compiler reads it
        lambda m: bytes([int(m.group(1), 8)]) if m.group(1).isdigit() else m.group(1),
        body.encode(),
    )
    assert decoded.decode("utf-8") == name
