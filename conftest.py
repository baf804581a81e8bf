"""Test-session settings shared by the unit tests and the notebooks nbval executes.

Kernels started by nbval inherit this process's environment, so what is set here
applies to every notebook too.
"""
import os
import tempfile

# Labs record progress; the tests must not write into the tester's home folder.
os.environ.setdefault("SCALEDOWN_PROGRESS", os.path.join(tempfile.mkdtemp(prefix="scaledown-"), "progress.json"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")
# Two cores: keep each framework from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_configure(config):
    """Run every notebook under nbval with the course's settings (``pytest`` alone does it all).

    Set here rather than in ``addopts`` so that ``pytest -p no:nbval tests/`` still works.
    """
    if not config.pluginmanager.hasplugin("nbval"):
        return
    option = config.option
    if not (option.nbval or option.nbval_lax):
        option.nbval = True
    option.nbval_current_env = True
    option.nbval_sanitize_with = option.nbval_sanitize_with or os.path.join(
        os.path.dirname(__file__), "tests", "nbval_sanitize.cfg")
    option.nbval_cell_timeout = option.nbval_cell_timeout or 900
