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


def _share_the_cores(config):
    """Keep the frameworks from oversubscribing the cores: each process gets its share of threads.

    Under ``make test``'s two pytest-xdist workers, each worker, and every kernel it starts,
    gets one thread on a 2-core machine (a sample of the notebooks and tests ran 10% faster
    than with two threads each). Set before the workers start, so they inherit it; a value
    already in the environment wins.
    """
    workers = getattr(config.option, "numprocesses", None)
    workers = workers if isinstance(workers, int) and workers > 0 else 1
    threads = str(max(1, (os.cpu_count() or 2) // workers))
    for variable in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(variable, threads)


def pytest_configure(config):
    """Share the cores, and run every notebook under nbval with the course's settings (``pytest`` alone does it all).

    Set here rather than in ``addopts`` so that ``pytest -p no:nbval tests/`` still works.
    """
    _share_the_cores(config)
    if not config.pluginmanager.hasplugin("nbval"):
        return
    option = config.option
    if not (option.nbval or option.nbval_lax):
        option.nbval = True
    option.nbval_current_env = True
    option.nbval_sanitize_with = option.nbval_sanitize_with or os.path.join(
        os.path.dirname(__file__), "tests", "nbval_sanitize.cfg"
    )
    option.nbval_cell_timeout = option.nbval_cell_timeout or 900


def _compare_stdout_only():
    """Compare what cells print and display, not what frameworks log to stderr.

    TensorFlow and friends write start-up and progress logs to stderr, in whichever
    cell first touches them; those lines vary by machine and say nothing about the
    lesson. nbval compares streams by name, so stderr streams are dropped from both
    the stored and the fresh outputs before comparing.
    """
    try:
        from nbval import plugin
    except ImportError:
        return
    original = plugin.transform_streams_for_comparison

    def without_stderr(outputs):
        kept = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        return original(kept)

    plugin.transform_streams_for_comparison = without_stderr


_compare_stdout_only()
