"""Raspberry Pi packages: built, installed in a clean environment, run, and compared with the runtime here.

How the clean environment is made without a network: ``offline_venv`` creates a
``venv`` with no system site-packages and links into it only the installed
distributions that satisfy the package's ``requirements.txt`` and, recursively,
their own requirements — what ``pip install -r requirements.txt`` would put
there. The tests check that TensorFlow, Keras, PyTorch and scaledown cannot be
imported in it, then run the package's ``predict.py`` there as a subprocess.
"""

import json
import os
import subprocess
import tarfile

import numpy as np
import pytest

import scaledown
from scaledown.deploy import DeploymentRefused, create_deployment_package
from scaledown.deploy.linux import load_program, offline_venv, reference_outputs
from scaledown.deploy.package import Artefact, sha256_file

CLEAN_ENV = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}


def run_clean(python, *args):
    """Run ``python`` with a bare environment, from its own folder (not the repository, which holds scaledown)."""
    return subprocess.run(
        [str(python), *map(str, args)], env=CLEAN_ENV, cwd=python.parent, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def keras_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    return model


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).uniform(0, 1, (64, 8, 8, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def package(keras_model, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "digits-pi"
    return create_deployment_package(
        keras_model,
        target="pi",
        out=out,
        representative_data=data,
        name="tiny",
        preprocessing={"multiply": 1 / 255, "add": 0.0, "description": "8-bit pixels"},
        class_names=["a", "b", "c"],
    )


@pytest.fixture(scope="module")
def clean_python(package, tmp_path_factory):
    return offline_venv(package.manifest["requirements"], tmp_path_factory.mktemp("venv") / "venv")


def test_package_holds_the_promised_files(package):
    for name in (
        "model.tflite",
        "predict.py",
        "requirements.txt",
        "tiny.service",
        "install.sh",
        "manifest.json",
        "README.md",
        "samples/inputs.npy",
        "samples/expected_outputs.npy",
    ):
        assert (package.path / name).is_file(), name
    assert package.archive.name == "digits-pi.tar.gz"
    with tarfile.open(package.archive) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {f"tiny/{f}" for f in package.files}


def test_manifest_describes_the_model(package):
    manifest = json.loads((package.path / "manifest.json").read_text())
    assert manifest["model"]["sha256"] == sha256_file(package.path / "model.tflite")
    assert manifest["target"] == "pi4" and manifest["runtime"] == "litert"
    assert manifest["inputs"][0]["shape"] == [1, 8, 8, 1] and manifest["inputs"][0]["dtype"] == "int8"
    assert len(manifest["inputs"][0]["quantization"]["scale"]) == 1
    assert manifest["outputs"][0]["shape"] == [1, 3]
    assert manifest["preprocessing"]["multiply"] == pytest.approx(1 / 255)
    assert manifest["created"] and manifest["scaledown_version"] == scaledown.__version__
    requirements = (package.path / "requirements.txt").read_text().split()
    assert [r.split(">=")[0] for r in requirements] == ["ai-edge-litert", "numpy"]


def test_systemd_unit_runs_the_program(package):
    unit = (package.path / "tiny.service").read_text()
    assert "[Service]" in unit and "ExecStart=/opt/tiny/venv/bin/python /opt/tiny/predict.py --watch" in unit
    assert "WantedBy=multi-user.target" in unit


def test_clean_environment_has_only_the_requirements(clean_python):
    def imports(module):
        return run_clean(clean_python, "-c", f"import {module}").returncode == 0

    assert imports("ai_edge_litert.interpreter") and imports("numpy")
    for absent in ("tensorflow", "keras", "torch", "scaledown", "onnxruntime"):
        assert not imports(absent), absent


def test_program_in_clean_environment_matches_litert_here(package, clean_python, tmp_path):
    raw = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 1)).astype(np.float32)
    np.save(tmp_path / "raw.npy", raw)
    run = run_clean(clean_python, package.path / "predict.py", tmp_path / "raw.npy", "--output", tmp_path / "out.npy")
    assert run.returncode == 0, run.stderr
    artefact = Artefact((package.path / "model.tflite").read_bytes(), "tflite", "test")
    expected = reference_outputs(artefact, raw, package.manifest["preprocessing"])
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    selftest = run_clean(clean_python, package.path / "predict.py", "--self-test")
    assert selftest.returncode == 0 and "OK" in selftest.stdout


def test_service_loop_writes_results(package, tmp_path):
    program = load_program(package.path)
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "x.npy", np.load(package.path / "samples" / "inputs.npy")[:2])
    program.watch(program.Model(package.path), tmp_path / "in", tmp_path / "out", once=True)
    result = json.loads((tmp_path / "out" / "x.json").read_text())
    assert len(result["outputs"]) == 2 and set(result["labels"]) <= {"a", "b", "c"}
    assert not (tmp_path / "in" / "x.npy").exists()


BAD_INPUTS = {
    "text.npy": lambda path: path.write_text("not an array"),
    "truncated.npy": lambda path: path.write_bytes(_npy(np.zeros((2, 8, 8, 1), np.float32))[:-40]),
    "pickled.npy": lambda path: np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "wrong_shape.npy": lambda path: np.save(path, np.zeros((2, 9, 9, 1), np.float32)),
    "empty.npy": lambda path: np.save(path, np.zeros((0, 8, 8, 1), np.float32)),
    "nan.npy": lambda path: np.save(path, np.full((1, 8, 8, 1), np.nan, np.float32)),
    "strings.npy": lambda path: np.save(path, np.array([["a"] * 8] * 8)),
    "zero_bytes.npy": lambda path: path.write_bytes(b""),
}


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_service_moves_unusable_files_to_rejected_and_goes_on(package, clean_python, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name, make in BAD_INPUTS.items():
        make(inbox / name)
    np.save(inbox / "good.npy", np.load(package.path / "samples" / "inputs.npy")[:2])
    np.save(inbox / "one_sample.npy", np.load(package.path / "samples" / "inputs.npy")[0])
    (inbox / ".half_written.npy").write_bytes(b"\x93NUMPY")  # a producer still writing: not touched
    logs = []
    for attempt in range(2):  # as systemd would restart it: the second pass must not fail either
        run = run_clean(
            clean_python, package.path / "predict.py", "--watch", inbox, "--results", tmp_path / "out", "--once"
        )
        assert run.returncode == 0, run.stderr[-2000:]
        logs.append(run.stdout)
    assert sorted(p.name for p in inbox.iterdir()) == [".half_written.npy"]
    assert {p.name for p in (tmp_path / "out").glob("*.json")} == {"good.json", "one_sample.json"}
    rejected = tmp_path / "rejected"
    assert sorted(p.name for p in rejected.glob("*.npy")) == sorted(BAD_INPUTS)
    for name in BAD_INPUTS:
        reason = (rejected / name.replace(".npy", ".reason.txt")).read_text().strip()
        assert reason and "\n" not in reason and "Traceback" not in reason, (name, reason)
        assert f"{name}: rejected, {reason}" in logs[0]
    assert "the model takes (N, 8, 8, 1)" in (rejected / "wrong_shape.reason.txt").read_text()


def test_program_answers_a_bad_input_file_in_one_sentence(package, clean_python, tmp_path):
    for name, make in BAD_INPUTS.items():
        make(tmp_path / name)
        run = run_clean(clean_python, package.path / "predict.py", tmp_path / name)
        ours = [line for line in run.stderr.splitlines() if not line.startswith("INFO: ")]  # the runtime's own log
        assert run.returncode == 2 and len(ours) == 1 and ours[0].startswith(f"predict.py: {tmp_path / name}: "), (
            name,
            run.stderr[-800:],
        )
        assert "Traceback" not in run.stderr and len(ours[0]) < 300


def test_torch_model_becomes_an_onnx_package(tmp_path):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    ).eval()
    x = np.random.default_rng(0).uniform(0, 1, (32, 1, 8, 8)).astype(np.float32)
    package = scaledown.wrap(model, representative_data=x).create_deployment_package(
        target="pi5", out=tmp_path / "onnx"
    )
    assert package.manifest["runtime"] == "onnxruntime" and (package.path / "model.onnx").is_file()
    python = offline_venv(package.manifest["requirements"], tmp_path / "venv")
    assert run_clean(python, "-c", "import tensorflow").returncode != 0
    run = run_clean(python, package.path / "predict.py", "--self-test")
    assert run.returncode == 0 and "OK" in run.stdout, run.stdout + run.stderr


def test_float_model_without_representative_data_is_an_error(keras_model, tmp_path):
    with pytest.raises(ValueError, match="representative_data=None"):
        create_deployment_package(keras_model, target="pi", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unknown_target_gives_the_catalogue_error(package, tmp_path):
    with pytest.raises(ValueError) as error:
        create_deployment_package(package.path / "model.tflite", target="pi9", out=tmp_path / "x")
    with pytest.raises(ValueError) as catalogue:
        scaledown.get_target("pi9")
    assert str(error.value) == str(catalogue.value)


def test_failed_build_leaves_the_existing_package_intact(package, tmp_path):
    out = tmp_path / "pkg"
    first = create_deployment_package(package.path / "model.tflite", target="pi", out=out)
    before = {f: (out / f).read_bytes() for f in first.files}
    with pytest.raises(ValueError, match="sample_inputs"):  # fails half-way, after files were written
        create_deployment_package(
            package.path / "model.tflite", target="pi", out=out, sample_inputs=np.zeros((2, 5, 5, 1), np.float32)
        )
    assert {f: (out / f).read_bytes() for f in first.files} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "pkg.tar.gz"]


def test_rebuild_replaces_the_package(package, tmp_path):
    out = tmp_path / "pkg"
    create_deployment_package(package.path / "model.tflite", target="pi", out=out, name="first")
    create_deployment_package(package.path / "model.tflite", target="pi", out=out, name="second")
    assert (out / "second.service").is_file() and not (out / "first.service").exists()


def test_refuses_to_replace_a_foreign_folder(package, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a scaledown deployment package"):
        create_deployment_package(package.path / "model.tflite", target="pi", out=tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_cli_deploys_a_tflite_file(package, tmp_path, capsys):
    from scaledown.cli import main

    assert main(["deploy", str(package.path / "model.tflite"), "--target", "pi", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "predict.py").is_file() and (tmp_path / "c.tar.gz").is_file()
    assert "pi4 package" in capsys.readouterr().out


def test_import_scaledown_stays_light():
    code = (
        "import sys, scaledown; scaledown.create_deployment_package; scaledown.wrap; "
        "print(sorted(m for m in ('tensorflow', 'torch', 'keras', 'ai_edge_litert') if m in sys.modules))"
    )
    out = subprocess.run(
        [__import__("sys").executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""}
    )
    assert out.stdout.strip() == "[]"


def test_refusal_is_a_value_error():
    assert issubclass(DeploymentRefused, ValueError)
