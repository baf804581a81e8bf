"""The installation check names what is missing, in one line each."""

import importlib.metadata

from scaledown import setup_check


def test_pins_are_read_from_requirements():
    pins = setup_check.pinned_requirements()
    assert pins["torch"] == "2.13.0" and "scaledown" not in pins


def test_this_machine_passes_the_package_checks():
    assert not [f for f in setup_check.check_packages() if f.status == "fail"]


def test_a_removed_package_is_named(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "onnxruntime":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    failed = [f for f in setup_check.check_packages() if f.status == "fail"]
    assert [f.what for f in failed] == ["onnxruntime"]
    assert "pip install onnxruntime==" in str(failed[0])


def test_a_different_version_is_a_warning_not_a_failure():
    (finding,) = setup_check.check_packages({"numpy": "0.0.1"})
    assert finding.status == "warn" and "the course pins 0.0.1" in str(finding)


def test_end_to_end_trains_quantizes_and_runs_on_both_runtimes():
    finding = setup_check.check_end_to_end()
    assert finding.status == "ok", str(finding)
