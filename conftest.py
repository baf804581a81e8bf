"""Test-session settings shared by the unit tests and the notebooks nbval executes.

Kernels started by nbval inherit this process's environment, so what is set here
applies to every notebook too.
"""
import os
import tempfile

# Labs record progress; the tests must not write into the tester's home folder.
os.environ.setdefault("SCALEDOWN_PROGRESS", os.path.join(tempfile.mkdtemp(prefix="scaledown-"), "progress.json"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")
# Two cores: keep each framework from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "2")
