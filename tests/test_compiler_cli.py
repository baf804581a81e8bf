"""``scaledown compile`` / ``scaledown emulate`` and ``create_deployment_package(runtime="compiled")``.

A small int8 model goes through the command line (compile, then emulate on the Cortex-M4 and
in wasmtime) and must give TFLite Micro's outputs bit for bit; every bad input gives one
sentence on stderr, a non-zero exit, no traceback and no half-written folder (an earlier
build is left as it was).
"""

import json
import shutil

import numpy as np
import pytest
from test_cli_bad_input import (  # one sentence, no traceback: the same rule for every command
    assert_one_sentence,
    run_cli,
)

from scaledown import cli
from scaledown.deploy.micro import run_tflm


def _int8_tflite(model, x):
    from scaledown.compress.quantization.tensorflow import ptq_tflite

    return ptq_tflite(model, x, num_samples=len(x))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A small int8 CNN, its float .tflite, and int8 models too big for the Cortex-M4's flash and RAM."""
    import keras
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    small = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", bias_initializer="random_normal"),
            keras.layers.DepthwiseConv2D(3, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    x = np.random.default_rng(0).normal(0, 1, (32, 8, 8, 1)).astype(np.float32)
    (folder / "small.tflite").write_bytes(_int8_tflite(small, x))
    (folder / "float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(small).convert())
    heavy = keras.Sequential([keras.Input((64,)), keras.layers.Dense(2048), keras.layers.Dense(512)])  # 1.2 MB
    (folder / "flash.tflite").write_bytes(_int8_tflite(heavy, np.random.default_rng(1).normal(size=(4, 64))))
    wide = keras.Sequential([keras.Input((128, 128, 8)), keras.layers.Conv2D(16, 1)])  # 128 KB in, 256 KB out
    (folder / "ram.tflite").write_bytes(_int8_tflite(wide, np.random.default_rng(2).normal(size=(2, 128, 128, 8))))
    return folder


@pytest.fixture(scope="module")
def built(models, tmp_path_factory):
    """The small model compiled for both targets through the command line (TFLite Micro's arena measured once)."""
    out = tmp_path_factory.mktemp("builds")
    assert cli.main(["compile", str(models / "small.tflite"), "--out", str(out / "m4")]) == 0
    assert (
        cli.main(
            ["compile", str(models / "small.tflite"), "--target", "wasm32", "--out", str(out / "wasm"), "--no-tflm"]
        )
        == 0
    )
    return out


# --------------------------------------------------------------------------- the round trip


def test_compile_writes_sources_build_board_project_and_report(built):
    folder = built / "m4"
    for path in ("src/model.c", "src/model.h", "src/plan.json", "src/main.cpp", "src/sample.h", "build/model.elf"):
        assert (folder / path).is_file(), path
    assert "arm-none-eabi-gcc" in (folder / "Makefile").read_text()
    ini = (folder / "platformio.ini").read_text()
    assert "board = nano33ble" in ini and "framework = arduino" in ini
    assert "sd_invoke(kSampleInput, output)" in (folder / "src" / "main.cpp").read_text()
    report = json.loads((folder / "report.json").read_text())
    assert 0 < report["flash_bytes"] <= 1024 * 1024 and 0 < report["ram_bytes"] <= 256 * 1024
    arena = report["arena"]
    assert arena["lower_bound_bytes"] <= arena["ours_bytes"] <= arena["tflm_minimum_bytes"]
    assert report["instructions"] == report["outside_ops_instructions"] + sum(
        op["instructions"] for op in report["per_op"]
    )
    assert [op["name"].split(" ")[0] for op in report["per_op"]] == [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MEAN",
        "FULLY_CONNECTED",
    ]
    assert report["per_op"][0]["macs"] == 6 * 6 * 4 * 9 and report["instructions_per_mac"] > 0


def test_compile_prints_the_table(models, tmp_path, capsys):
    code, out, err = run_cli(["compile", models / "small.tflite", "--out", tmp_path / "b", "--no-tflm"], capsys)
    assert code == 0, err
    for text in ("flash", "RAM", "arena (ours)", "arena (TFLite Micro)", "arena lower bound", "per MAC", "CONV_2D #0"):
        assert text in out, out


@pytest.mark.parametrize("wasm", [False, True])
def test_emulate_equals_tflite_micro_bit_for_bit(models, built, tmp_path, capsys, wasm):
    x = np.random.default_rng(3).integers(-128, 128, (40, 8, 8, 1)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    folder = built / ("wasm" if wasm else "m4")
    code, out, err = run_cli(
        [
            "emulate",
            folder,
            "--input",
            tmp_path / "x.npy",
            "--output",
            tmp_path / "y.npy",
            *(["--wasm"] if wasm else []),
        ],
        capsys,
    )
    assert code == 0, err
    reference = run_tflm((models / "small.tflite").read_bytes(), x)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), reference)
    np.save(tmp_path / "one.npy", x[0])  # one sample in, one sample out
    assert (
        cli.main(
            [
                "emulate",
                str(folder),
                "--input",
                str(tmp_path / "one.npy"),
                "--output",
                str(tmp_path / "y1.npy"),
                *(["--wasm"] if wasm else []),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y1.npy"), reference[0])


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_makefile_builds_a_firmware_that_gives_the_same_outputs(built, tmp_path):
    """The board project's Makefile, with Zig's clang standing in for arm-none-eabi-gcc (as its comment says)."""
    import subprocess
    import sys

    from scaledown.deploy.compiler.cortex_m4 import run_cortex_m4

    shutil.copytree(built / "m4", tmp_path / "board")
    zig = f"{sys.executable} -m ziglang"
    flags = "-mcpu=cortex_m4 -O2 -std=c99 -ffreestanding -ffunction-sections -fdata-sections -Isrc"
    result = subprocess.run(
        ["make", f"CC={zig} cc -target thumb-freestanding-eabihf", f"AR={zig} ar", "LDLIBS=", f"CFLAGS={flags}"],
        cwd=tmp_path / "board",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    x = np.random.default_rng(4).integers(-128, 128, (10, 8, 8, 1)).astype(np.int8)
    np.testing.assert_array_equal(
        run_cortex_m4(tmp_path / "board" / "model.elf", x), run_cortex_m4(built / "m4" / "build" / "model.elf", x)
    )


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "model, fragments",
    [
        ("float.tflite", ["float32", "int8"]),
        ("flash.tflite", ["flash", "bytes"]),
        ("ram.tflite", ["RAM", "bytes"]),
        ("missing.tflite", ["no such file"]),
        ("corrupt.tflite", ["corrupt.tflite"]),
        ("model.onnx", [".tflite"]),
    ],
)
def test_a_bad_model_is_one_sentence_and_leaves_no_folder(models, tmp_path, capsys, model, fragments):
    if model == "corrupt.tflite":
        good = (models / "small.tflite").read_bytes()
        (tmp_path / model).write_bytes(good[: len(good) // 2])
    path = tmp_path / model if model in ("corrupt.tflite", "model.onnx", "missing.tflite") else models / model
    if model == "model.onnx":
        path.write_bytes(b"\x08\x07")
    code, out, err = run_cli(["compile", path, "--out", tmp_path / "new" / "build", "--no-tflm"], capsys)
    assert_one_sentence(code, err, *fragments)
    assert not (tmp_path / "new").exists()


def test_an_unsupported_op_is_named(tmp_path, capsys):
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="tanh")])
    (tmp_path / "tanh.tflite").write_bytes(_int8_tflite(model, np.random.default_rng(0).normal(size=(8, 8))))
    code, out, err = run_cli(["compile", tmp_path / "tanh.tflite", "--out", tmp_path / "build", "--no-tflm"], capsys)
    assert_one_sentence(code, err, "TANH")
    assert not (tmp_path / "build").exists()


def test_a_failed_build_leaves_the_earlier_one_untouched(models, built, tmp_path, capsys):
    earlier = tmp_path / "build"
    shutil.copytree(built / "m4", earlier)
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    # refused after the C was written (its arena is planned first): the build happens beside, never in, DIR
    code, out, err = run_cli(["compile", models / "ram.tflite", "--out", earlier, "--no-tflm"], capsys)
    assert_one_sentence(code, err, "RAM")
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]  # no staging folder left beside it


def test_a_folder_compile_did_not_write_is_not_replaced(models, tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    code, out, err = run_cli(["compile", models / "small.tflite", "--out", tmp_path / "mine", "--no-tflm"], capsys)
    assert_one_sentence(code, err, "did not write")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_an_unknown_target_names_the_choices(models, tmp_path, capsys):
    code, out, err = run_cli(["compile", models / "small.tflite", "--target", "riscv", "--out", tmp_path / "b"], capsys)
    assert_one_sentence(code, err, "riscv", "cortex-m4", "wasm32")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "data, fragments",
    [
        (np.zeros((4, 8, 8, 1), np.float32), ["float32", "int8", "(N, 8, 8, 1)"]),
        (np.zeros((4, 9, 9, 1), np.int8), ["shape", "(N, 8, 8, 1)"]),
        (np.zeros((64,), np.int8), ["shape"]),
        (b"not an array", [".npy"]),
        (None, ["no such file"]),
    ],
)
def test_bad_emulator_input_is_one_sentence(built, tmp_path, capsys, data, fragments):
    path = tmp_path / "x.npy"
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif data is not None:
        np.save(path, data)
    code, out, err = run_cli(["emulate", built / "m4", "--input", path, "--output", tmp_path / "y.npy"], capsys)
    assert_one_sentence(code, err, *fragments)
    assert not (tmp_path / "y.npy").exists()


def test_emulate_needs_a_compiled_folder_and_the_right_build(built, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((8, 8, 1), np.int8))
    for folder, extra, fragment in ((tmp_path, [], "scaledown compile"), (built / "m4", ["--wasm"], "wasm32")):
        code, out, err = run_cli(
            ["emulate", folder, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", *extra], capsys
        )
        assert_one_sentence(code, err, fragment)


# --------------------------------------------------------------------------- the package


def test_a_compiled_package_is_verified_like_the_interpreters(models, tmp_path):
    import scaledown

    content = (models / "small.tflite").read_bytes()
    package = scaledown.create_deployment_package(content, target="nano33ble", out=tmp_path / "pkg", runtime="compiled")
    assert package.manifest["runtime"] == "compiled" and package.report["bit_exact"]
    for path in ("project/src/model.c", "project/platformio.ini", "project/Makefile", "arduino/model/model.ino"):
        assert (tmp_path / "pkg" / path).is_file(), path
    assert not (tmp_path / "pkg" / "model_data.cc").exists()  # no interpreter, no C array
    x = np.load(tmp_path / "pkg" / "samples" / "inputs_int8.npy")
    np.testing.assert_array_equal(
        np.load(tmp_path / "pkg" / "samples" / "expected_outputs_int8.npy"), run_tflm(content, x)
    )
    for key in ("flash_bytes", "ram_bytes", "arena_bytes", "instructions"):
        assert package.report[key] > 0, key


@pytest.mark.parametrize(
    "runtime, target, fragment", [("jit", "nano33ble", "'interpreter', 'compiled'"), ("compiled", "pi4", "Cortex-M")]
)
def test_a_bad_runtime_is_one_sentence(models, tmp_path, runtime, target, fragment):
    import scaledown

    with pytest.raises(ValueError, match=fragment):
        scaledown.create_deployment_package(
            (models / "small.tflite").read_bytes(), target=target, out=tmp_path / "pkg", runtime=runtime
        )
    assert not (tmp_path / "pkg").exists()
