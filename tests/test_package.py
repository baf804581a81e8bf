"""`scaledown` must be this repository's package, never the unrelated PyPI project."""

import importlib.metadata
import pathlib

import scaledown

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_scaledown_is_imported_from_this_repository():
    assert pathlib.Path(scaledown.__file__).resolve() == ROOT / "scaledown" / "__init__.py"


def test_installed_distribution_is_scaledown_course():
    assert importlib.metadata.version("scaledown-course") == scaledown.__version__


def test_requirements_never_name_the_pypi_scaledown():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name = line.split("#")[0].split("==")[0].strip().lower()
        assert name != "scaledown", "requirements.txt must install this repository by path (-e .)"


def test_quick_mode_switch(monkeypatch):
    monkeypatch.setenv("SCALEDOWN_QUICK", "1")
    assert scaledown.quick_mode() and scaledown.pick(full=30, quick=2) == 2
    monkeypatch.setenv("SCALEDOWN_QUICK", "0")
    assert not scaledown.quick_mode() and scaledown.pick(full=30, quick=2) == 30


def test_the_package_layers_only_point_down():
    # [tool.importlinter] in pyproject.toml: foundations < compress < deploy < operate < labs < cli
    import pathlib
    import subprocess
    import sys
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[1]
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    lint = pathlib.Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "pyproject.toml"], capture_output=True, text=True, cwd=root)
    assert run.returncode == 0 and f"{len(contracts)} kept, 0 broken" in run.stdout, (
        run.stdout[-3000:] + run.stderr[-2000:]
    )


def test_the_folders_are_the_course_parts():
    """Every module lives in one of the four parts (or is the lab framework, the CLI or the setup check)."""
    import pathlib

    package = pathlib.Path(scaledown.__file__).parent
    top = {
        p.stem
        for p in package.iterdir()
        if p.name != "__pycache__" and not p.name.startswith(".") and (p.is_dir() or p.suffix == ".py")
    }
    assert top == {"__init__", "foundations", "compress", "deploy", "operate", "labs", "cli", "setup_check"}, top


def test_ruff_finds_nothing_to_lint_or_format():
    # [tool.ruff] in pyproject.toml; `make format` fixes what it can.
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    ruff = pathlib.Path(sys.executable).with_name("ruff")
    lint = subprocess.run([str(ruff), "check", "--no-cache", "."], capture_output=True, text=True, cwd=root)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-1000:]
    fmt = subprocess.run([str(ruff), "format", "--check", "--no-cache", "."], capture_output=True, text=True, cwd=root)
    assert fmt.returncode == 0, "run `make format`:\n" + fmt.stdout[-3000:] + fmt.stderr[-1000:]


def test_the_public_api_is_annotated():
    """Every parameter and the return of the calls the course promises carry a type hint that resolves."""
    import inspect
    import typing

    from scaledown.compress.distillation import KnowledgeDistillation
    from scaledown.compress.quantization import QuantizedModel
    from scaledown.deploy import DeploymentPackage
    from scaledown.deploy.wrapper import DeployableModel

    calls = [
        scaledown.quantize,
        scaledown.wrap,
        scaledown.create_deployment_package,
        scaledown.profile,
        scaledown.get_target,
        scaledown.list_targets,
        scaledown.pick,
        scaledown.quick_mode,
        KnowledgeDistillation.__init__,
        KnowledgeDistillation.train_step,
        KnowledgeDistillation.fit,
        QuantizedModel.create_deployment_package,
        DeployableModel.create_deployment_package,
    ]
    for call in calls:
        hints = typing.get_type_hints(call, localns={"DeploymentPackage": DeploymentPackage})
        names = [n for n in inspect.signature(call).parameters if n != "self"]
        missing = [n for n in names if n not in hints] + ([] if "return" in hints else ["return"])
        assert not missing, f"{call.__qualname__}: no type hint for {missing}"
