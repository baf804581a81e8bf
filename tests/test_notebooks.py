"""Conventions every notebook and lab follows: the Colab badge and install cell, the book's TOC."""

import json
import pathlib
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("labs/*.ipynb"), *ROOT.glob("labs/solutions/*.ipynb")])
TOC = (ROOT / "_toc.yml").read_text()


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_opens_with_a_colab_badge_pointing_at_itself(path):
    first = _source(_cells(path)[0])
    assert "colab-badge.svg" in first
    assert f"/blob/main/{path.relative_to(ROOT).as_posix()})" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_is_in_the_book(path):
    assert path.relative_to(ROOT).with_suffix("").as_posix() in TOC


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_stores_no_error_output(path):
    for cell in _cells(path):
        assert all(o.get("output_type") != "error" for o in cell.get("outputs", []))


def _run_setup_cell(path, monkeypatch, in_colab):
    """Execute the notebook's first code cell with subprocess.run recorded instead of run."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(list(args)))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    code = next(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    exec(compile(code, str(path), "exec"), {})
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_setup_cell_does_nothing_outside_colab(path, monkeypatch):
    assert _run_setup_cell(path, monkeypatch, in_colab=False) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_setup_cell_installs_the_course_in_colab_and_keeps_colab_frameworks(path, monkeypatch):
    calls = _run_setup_cell(path, monkeypatch, in_colab=True)
    assert calls[0][:2] == ["git", "clone"] and calls[0][-1] == "/content/scaledown"
    pip = calls[1]
    assert pip[1:4] == ["-m", "pip", "install"] and "/content/scaledown" in pip
    installed = {arg.split("=")[0].split("<")[0].split(">")[0].lower() for arg in pip[4:]}
    assert not installed & {"tensorflow", "tensorflow-cpu", "torch", "keras", "scaledown"}
    assert "--force-reinstall" not in pip and "-U" not in pip and "--upgrade" not in pip
