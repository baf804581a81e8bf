"""Packages for Linux boards (Raspberry Pi 4 and 5): a folder and a ``.tar.gz`` that run with LiteRT or ONNX Runtime.

The folder holds the model, ``predict.py`` (the inference program, NumPy and
the runtime only), ``requirements.txt``, a systemd unit and ``install.sh``,
``manifest.json`` and a README, and ``samples/`` with inputs and the outputs
LiteRT (or ONNX Runtime) gave for them here: ``predict.py --self-test`` checks
that the board computes the same.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import pathlib
import shutil
import string
import tarfile

import numpy as np

from scaledown.deploy.package import (
    HELP_CHAPTERS,
    MANIFEST,
    DeploymentPackage,
    DeploymentRefused,
    check_preprocessing,
    list_files,
    model_spec,
    raw_samples,
    staging,
    write_json,
)
from scaledown.foundations.hardware import profile
from scaledown.foundations.hardware.targets import format_bytes

TEMPLATES = pathlib.Path(__file__).parent / "templates" / "linux"
RUNTIMES = {"tflite": ("litert", "LiteRT", "ai-edge-litert"), "onnx": ("onnxruntime", "ONNX Runtime", "onnxruntime")}


def requirements_for(model_format: str) -> list:
    """The package's ``requirements.txt`` lines: the runtime (this machine's version up to the next major) and NumPy."""
    _, _, distribution = RUNTIMES[model_format]
    version = importlib.metadata.version(distribution)
    major, minor = (int(part) for part in version.split(".")[:2])
    return [f"{distribution}>={major}.{minor},<{major + 1}", "numpy>=1.23"]


def load_program(folder):
    """Import a package's ``predict.py`` as a module (``.Model``, ``.self_test``, ``.watch``), e.g. in a notebook.

    ``load_program(folder).Model(folder).predict(raw)`` runs the package's own code in this Python.
    """
    import importlib.util

    folder = pathlib.Path(folder)
    spec = importlib.util.spec_from_file_location(f"predict_{abs(hash(str(folder.resolve())))}", folder / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_outputs(artefact, x: np.ndarray, preprocessing: dict) -> np.ndarray:
    """Outputs of the runtime called here directly (not through ``predict.py``) for raw inputs ``x``."""
    x = np.asarray(x, np.float32) * np.asarray(preprocessing["multiply"], np.float32) + np.asarray(
        preprocessing["add"], np.float32
    )
    if artefact.format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(artefact.content, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return np.concatenate([session.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))]).astype(np.float32)
    from scaledown.compress.quantization.tensorflow import TFLiteRunner

    return TFLiteRunner(artefact.content, "litert", num_threads=None).predict(x)


def _check_fits(artefact, target):
    """The profile of the model on ``target``; refuses a model over its storage or RAM.

    Returns None where the profiler cannot read the file (e.g. some int8 QDQ ONNX graphs): then only the
    file size is checked.
    """
    try:
        report = profile(artefact.content if artefact.format == "tflite" else _onnx_path_bytes(artefact), target=target)
    except Exception:  # the profiler's readers do not know every quantized graph; fall back to the file size
        report = None
    flash_used = report.flash_bytes if report else len(artefact.content)
    over = []
    if flash_used + target.reserved_flash_bytes > target.flash_bytes:
        over.append(f"storage by {flash_used + target.reserved_flash_bytes - target.flash_bytes:,} bytes")
    if report is not None and not report.fits_ram:
        over.append(f"RAM by {report.peak_activation_bytes + target.reserved_ram_bytes - target.ram_bytes:,} bytes")
    if over:
        raise DeploymentRefused(
            f"The model does not fit {target.id}: it exceeds {' and '.join(over)}; {HELP_CHAPTERS}."
        )
    return report


def _onnx_path_bytes(artefact):
    import onnx

    return onnx.load_from_string(artefact.content)


def _quant_text(spec) -> str:
    q = spec["quantization"]
    return f", scale {q['scale'][0]:.6g}, zero point {q['zero_point'][0]}" if q else ""


def build_linux_package(
    artefact,
    target,
    out,
    *,
    representative_data=None,
    sample_inputs=None,
    preprocessing=None,
    class_names=None,
    name="model",
) -> DeploymentPackage:
    """Write the Linux package for ``artefact`` to ``out`` (and ``out``.tar.gz); see ``create_deployment_package``."""
    import scaledown

    report = _check_fits(artefact, target)
    spec = model_spec(artefact)
    preprocessing = check_preprocessing(preprocessing, spec)
    if class_names is not None and len(class_names) != spec["outputs"][0]["shape"][-1]:
        raise ValueError(
            f"class_names has {len(class_names)} names; the model has {spec['outputs'][0]['shape'][-1]} outputs."
        )
    runtime, runtime_name, _ = RUNTIMES[artefact.format]
    requirements = requirements_for(artefact.format)
    model_file = f"model.{artefact.format}"
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    archive = out.with_name(out.name + ".tar.gz")
    with staging(out) as folder:
        (folder / model_file).write_bytes(artefact.content)
        shutil.copyfile(TEMPLATES / "predict.py", folder / "predict.py")
        (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
        inputs = raw_samples(spec, preprocessing, sample_inputs, representative_data)
        expected = reference_outputs(artefact, inputs, preprocessing)
        (folder / "samples").mkdir()
        np.save(folder / "samples" / "inputs.npy", inputs.astype(np.float32))
        np.save(folder / "samples" / "expected_outputs.npy", expected)
        out_q = spec["outputs"][0]["quantization"]
        manifest = {
            "name": name,
            "format_version": 1,
            "scaledown_version": scaledown.__version__,
            "created": created,
            "target": target.id,
            "target_name": target.name,
            "runtime": runtime,
            "requirements": requirements,
            "model": {
                "file": model_file,
                "format": artefact.format,
                "bytes": len(artefact.content),
                "sha256": artefact.sha256,
                "origin": artefact.origin,
            },
            "inputs": spec["inputs"],
            "outputs": spec["outputs"],
            "ops": spec["ops"],
            "preprocessing": preprocessing,
            "class_names": class_names,
            # the board's runtime may use other kernels than this machine's: allow one output step
            "self_test_tolerance": float(out_q["scale"][0]) if out_q else 1e-4,
        }
        write_json(folder / MANIFEST, manifest)
        values = _template_values(manifest, runtime_name, preprocessing, target)
        for template, filename in (("service.template", f"{name}.service"), ("install.template", "install.sh")):
            text = string.Template((TEMPLATES / template).read_text()).substitute(values)
            (folder / filename).write_text(text)
        (folder / "install.sh").chmod(0o755)
        values["files"] = "\n".join(f"- `{f}`" for f in list_files(folder) + ["README.md"])
        (folder / "README.md").write_text(
            string.Template((TEMPLATES / "README.template").read_text()).substitute(values)
        )
        tmp_archive = archive.with_name(f".{archive.name}.partial")
        with tarfile.open(tmp_archive, "w:gz") as tar:
            tar.add(folder, arcname=name)
    tmp_archive.replace(archive)
    lines = [
        f"model {format_bytes(len(artefact.content))} ({artefact.format}) for {runtime_name}; "
        f"{target.name}: {format_bytes(target.flash_bytes - target.reserved_flash_bytes)} of storage and "
        f"{format_bytes(target.ram_bytes - target.reserved_ram_bytes)} of RAM free for it"
    ]
    if report is not None:
        lines.append(f"estimated {report.estimated_latency_s * 1000:.2f} ms per inference on {target.id}")
    return DeploymentPackage(
        path=out,
        target=target,
        manifest=manifest,
        files=list_files(out),
        archive=archive,
        report={"model_bytes": len(artefact.content), "runtime": runtime, "lines": lines},
    )


def _template_values(manifest, runtime_name, preprocessing, target) -> dict:
    inp, outp = manifest["inputs"][0], manifest["outputs"][0]
    return {
        "name": manifest["name"],
        "description": f"{manifest['model']['origin']} on {runtime_name}",
        "target_name": target.name,
        "created": manifest["created"],
        "version": manifest["scaledown_version"],
        "model_file": manifest["model"]["file"],
        "model_bytes": f"{manifest['model']['bytes']:,}",
        "origin": manifest["model"]["origin"],
        "sha256": manifest["model"]["sha256"],
        "runtime_name": runtime_name,
        "requirements": ", ".join(f"`{r}`" for r in manifest["requirements"]),
        "input_shape": tuple(inp["shape"]),
        "input_dtype": inp["dtype"],
        "input_quant": _quant_text(inp),
        "output_shape": tuple(outp["shape"]),
        "output_dtype": outp["dtype"],
        "output_quant": _quant_text(outp),
        "multiply": preprocessing["multiply"],
        "add": preprocessing["add"],
        "prep_description": preprocessing["description"],
        "classes": ", ".join(manifest["class_names"]) if manifest["class_names"] else "output indices",
        "num_outputs": outp["shape"][-1],
    }


def offline_venv(requirements, folder) -> pathlib.Path:
    """A fresh virtual environment holding only ``requirements`` and their dependencies, built without a network.

    On the board, ``pip install -r requirements.txt`` downloads the runtime.
    Here (tests, notebooks) there may be no network, so this links the
    distributions already installed in this Python that satisfy each
    requirement — and, recursively, their own requirements — into a new
    ``venv`` created without system site-packages. Anything else, TensorFlow
    and PyTorch included, is absent from it, exactly as on a fresh board.

    Parameters
    ----------
    requirements : sequence of str
        Requirement lines, e.g. ``["ai-edge-litert>=2.3,<3", "numpy>=1.23"]``.
    folder : str or Path
        Where to create the environment (replaced if it exists).

    Returns
    -------
    pathlib.Path
        The environment's ``python`` executable.

    Raises
    ------
    ValueError
        If a requirement is not installed here, or its installed version does not satisfy it.
    """
    import importlib.metadata as metadata
    import venv

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    folder = pathlib.Path(folder)
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(folder)
    site = next((folder / "lib").glob("python*/site-packages"))
    pending, found = [Requirement(line) for line in requirements], {}
    while pending:
        requirement = pending.pop()
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise ValueError(
                f"requirement {str(requirement)!r} is not installed in this Python, so an offline "
                "environment cannot hold it; install it here first."
            ) from None
        if not requirement.specifier.contains(distribution.version, prereleases=True):
            raise ValueError(
                f"requirement {str(requirement)!r} is not met by the installed version {distribution.version}."
            )
        found[key] = distribution
        for line in distribution.requires or []:
            dependency = Requirement(line)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                pending.append(dependency)
    for distribution in found.values():
        _link_distribution(distribution, site)
    return folder / "bin" / "python"


def _link_distribution(distribution, site: pathlib.Path) -> None:
    """Symlink a distribution's top-level files into ``site``; namespace folders (``google/``) one level deeper."""
    parts = [pathlib.PurePath(str(f)).parts for f in distribution.files or []]
    parts = [p for p in parts if p and p[0] != ".." and p[0] != "__pycache__"]
    for top in sorted({p[0] for p in parts}):
        source = pathlib.Path(distribution.locate_file(top))
        namespace = (
            source.is_dir()
            and not (source / "__init__.py").exists()
            and not top.endswith((".dist-info", ".libs", ".data"))
        )
        if not namespace:
            if not (site / top).exists():
                (site / top).symlink_to(source)
            continue
        (site / top).mkdir(exist_ok=True)
        for child in sorted({p[1] for p in parts if p[0] == top and len(p) > 1}):
            if not (site / top / child).exists():
                (site / top / child).symlink_to(source / child)


__all__ = ["build_linux_package", "requirements_for", "load_program", "reference_outputs", "offline_venv"]
