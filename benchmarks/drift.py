"""Drift detectors on a real, autocorrelated IMU stream: false alarms, detection delay, misses.

The stream is the steady 20 s of the x-IMU recording (``load_imu_stream("xio")``, 5,000
readings at 256 Hz, six channels). Each *fold* takes 3,000 contiguous readings as the
reference and monitors the other 2,000 in windows of 200 readings, one every 50 (the
gateway's pattern: a long window, checked often). The monitored stretch is left clean,
or a change is injected at its first reading:

* a step of 0.5, 1 and 2 reference standard deviations on ``gyro_x``;
* a ramp on ``gyro_x`` from 0 to 2 standard deviations over the stretch;
* a correlation change: the most correlated pair of channels is decoupled (the second
  channel's readings are delayed by 500, so each channel alone is unchanged);
* the sensor faults of Sharma et al. (2010) on ``gyro_x``: *spike* (2 % of readings
  jump by 5 standard deviations), *noise* (added noise of 1 standard deviation),
  *stuck* (the reading freezes at its value at the change).

Detectors: the textbook test (``DriftDetector(calibrate=False)``: PSI > 0.25 and KS
p < 1e-5), the calibrated one (default, 1 % false alarms per window), PCA
reconstruction error (``ReconstructionDriftDetector``), and river's ADWIN and
Page-Hinkley fed the calibrated detector's per-window score (after the reference's own
windows, as a warm-up). NannyML is not run: nannyml 0.13.1 requires
python-dateutil < 3, and the course pins python-dateutil 4.0.0.

Reported per detector: false alarms per 1,000 clean windows; per change, the detection
delay in windows (the first alarming window's number, counting from 1: window k ends
150 + 50·k readings after the change) averaged over the folds that caught it, and the
number of folds that missed it. A figure shows each statistic over time with its
threshold and the change point.

A second part estimates accuracy without labels (CBPE, ``fleet.estimate_accuracy``): a
logistic model, calibrated by construction (``P(y=1|x) = σ(3x₀)``), watches ten chunks
of 1,000 inputs that slide towards its decision boundary (a covariate shift: ``p(x)``
changes, ``p(y|x)`` does not), then two chunks whose labels flip (a concept shift:
``p(x)`` is unchanged, so the confidences cannot show it). It records the estimated
and the true accuracy per chunk, and where ADWIN (on each confidence) and Page-Hinkley
(on the mean confidence of each 100 predictions) first signal a change. Usage::

    .venv/bin/python benchmarks/drift.py            # two folds, writes benchmarks/results/drift.json
    SCALEDOWN_QUICK=1 .venv/bin/python benchmarks/drift.py   # one fold, one window in two
"""

from __future__ import annotations

import argparse
import importlib.metadata
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _results  # noqa: E402

import scaledown  # noqa: E402
from scaledown.foundations.datasets import IMU_CHANNELS, load_imu_stream  # noqa: E402
from scaledown.operate import fleet  # noqa: E402

REFERENCE, WINDOW = 3000, 200
CHANGES = ("step_0.5sd", "step_1sd", "step_2sd", "ramp_2sd", "correlation", "spike", "noise", "stuck")
DETECTORS = ("naive", "calibrated", "pca", "adwin", "page_hinkley")
RIVER = {"adwin": {"clock": 1}, "page_hinkley": {"min_instances": 10, "threshold": 2.0, "mode": "up"}}
CHANNEL = 0  # gyro_x


def inject(stretch, change, reference, rng):
    """``stretch`` (T, C) with ``change`` applied from its first reading."""
    x, sd = stretch.copy(), reference.std(axis=0)
    if change.startswith("step_"):
        x[:, CHANNEL] += float(change[5:-2]) * sd[CHANNEL]
    elif change == "ramp_2sd":
        x[:, CHANNEL] += np.linspace(0.0, 2.0, len(x)) * sd[CHANNEL]
    elif change == "correlation":
        a, b = correlated_pair(reference)
        x[:, b] = np.roll(stretch[:, b], 500)
    elif change == "spike":
        hit = rng.random(len(x)) < 0.02
        x[hit, CHANNEL] += 5.0 * sd[CHANNEL] * rng.choice([-1.0, 1.0], hit.sum())
    elif change == "noise":
        x[:, CHANNEL] += sd[CHANNEL] * rng.standard_normal(len(x))
    elif change == "stuck":
        x[:, CHANNEL] = stretch[0, CHANNEL]
    elif change != "clean":
        raise ValueError(f"change={change!r} is not one of {CHANGES}")
    return x


def correlated_pair(reference):
    """The two channels of ``reference`` with the largest absolute correlation."""
    corr = np.abs(np.corrcoef(reference.T)) - np.eye(reference.shape[1])
    a, b = np.unravel_index(np.argmax(corr), corr.shape)
    return int(min(a, b)), int(max(a, b))


def evaluate(reference, stretch, stride):
    """Per-window statistics and alarms of every detector on ``stretch``, after warming up on the reference."""
    none = np.zeros(WINDOW, dtype=np.int64)
    naive = fleet.DriftDetector(reference, np.zeros(len(reference), dtype=np.int64), 1, calibrate=False)
    calibrated = fleet.DriftDetector(reference, np.zeros(len(reference), dtype=np.int64), 1)
    pca = fleet.ReconstructionDriftDetector(reference)
    warmup = [
        calibrated.check(reference[s : s + WINDOW], none)["score"]
        for s in range(0, len(reference) - WINDOW + 1, stride)
    ]
    rows = {name: {"statistic": [], "alarm": []} for name in DETECTORS}
    for s in range(0, len(stretch) - WINDOW + 1, stride):
        window = stretch[s : s + WINDOW]
        n, c, p = naive.check(window, none), calibrated.check(window, none), pca.check(window)
        rows["naive"]["statistic"].append(-np.log10(max(min(ch["p"] for ch in n["channels"]), 1e-300)))
        rows["naive"]["alarm"].append(n["inputs_drifted"])
        rows["calibrated"]["statistic"].append(c["score"])
        rows["calibrated"]["alarm"].append(c["inputs_drifted"])
        rows["pca"]["statistic"].append(p["error"])
        rows["pca"]["alarm"].append(p["drifted"])
    for name, params in RIVER.items():
        scores = warmup + rows["calibrated"]["statistic"]
        alarms = {i - len(warmup) for i in fleet.detect_changes(scores, name, **params) if i >= len(warmup)}
        rows[name]["statistic"] = rows["calibrated"]["statistic"]
        rows[name]["alarm"] = [k in alarms for k in range(len(rows["calibrated"]["statistic"]))]
    pca_limits = pca.calibration(WINDOW)
    return rows, {
        "naive": -np.log10(naive.p_threshold),
        "calibrated": 1.0,
        "pca": (pca_limits["lower"], pca_limits["upper"]),
        "warmup": warmup,
    }


def folds(readings, quick):
    first = (readings[:REFERENCE], readings[REFERENCE:])
    last = (readings[-REFERENCE:], readings[:-REFERENCE])
    return [first] if quick else [first, last]


def run(quick):
    readings = load_imu_stream("xio").readings.astype(np.float64)
    stride = 100 if quick else 50
    rng = np.random.default_rng(0)
    clean_alarms = {name: 0 for name in DETECTORS}
    clean_windows = 0
    delays = {name: {change: [] for change in CHANGES} for name in DETECTORS}
    misses = {name: {change: 0 for change in CHANGES} for name in DETECTORS}
    for fold, (reference, stretch) in enumerate(folds(readings, quick)):
        rows, _ = evaluate(reference, stretch, stride)
        clean_windows += len(rows["naive"]["alarm"])
        for name in DETECTORS:
            clean_alarms[name] += int(sum(rows[name]["alarm"]))
        for change in CHANGES:
            rows, limits = evaluate(reference, inject(stretch, change, reference, rng), stride)
            for name in DETECTORS:
                hits = np.flatnonzero(rows[name]["alarm"])
                if hits.size:
                    delays[name][change].append(int(hits[0]) + 1)
                else:
                    misses[name][change] += 1
    # the figure: fold 0, clean for 1,000 readings, then a 1 sd step on gyro_x
    reference, stretch = folds(readings, quick)[0]
    half = len(stretch) // 2
    changed = np.concatenate([stretch[:half], inject(stretch[half:], "step_1sd", reference, rng)])
    picture = (*evaluate(reference, changed, stride), half)
    table = {}
    for name in DETECTORS:
        table[name] = {
            "false_alarms_per_1000": round(1000 * clean_alarms[name] / clean_windows, 1),
            "delay_windows": {c: (round(float(np.mean(d)), 1) if d else None) for c, d in delays[name].items()},
            "misses": misses[name],
        }
    a, b = correlated_pair(readings[:REFERENCE])
    first = readings[:REFERENCE]
    lag1 = [float(np.corrcoef(first[:-1, c], first[1:, c])[0, 1]) for c in range(first.shape[1])]
    ess = fleet.DriftDetector(first, np.zeros(len(first), dtype=np.int64), 1).calibration(WINDOW)[
        "effective_sample_size"
    ]
    setup = {
        "lag1_autocorrelation_min": round(min(lag1), 3),
        "lag1_autocorrelation_max": round(max(lag1), 3),
        "effective_sample_size_min": round(float(np.min(ess)), 1),
        "effective_sample_size_max": round(float(np.max(ess)), 1),
        "readings": len(readings),
        "reference": REFERENCE,
        "window": WINDOW,
        "stride": stride,
        "folds": len(folds(readings, quick)),
        "clean_windows": clean_windows,
        "changed_channel": IMU_CHANNELS[CHANNEL],
        "correlation_pair": [IMU_CHANNELS[a], IMU_CHANNELS[b]],
        "correlation_in_reference": round(
            float(np.corrcoef(readings[:REFERENCE, a], readings[:REFERENCE, b])[0, 1]), 2
        ),
        "river": importlib.metadata.version("river"),
        "nannyml": "not run: nannyml 0.13.1 requires python-dateutil<3; the course pins python-dateutil 4.0.0",
    }
    return {"setup": setup, "detectors": table}, picture


def classifier_stream(rng, chunk=1000):
    """Chunks ``(x, y, kind)``: ten through a covariate shift, then two with flipped labels."""
    from sklearn.linear_model import LogisticRegression

    def draw(n, squeeze=0.0):
        x = rng.standard_normal((n, 2))
        x[:, 0] = (x[:, 0] + rng.choice([-1.5, 1.5], n)) * (1.0 - squeeze)
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-3.0 * x[:, 0]))).astype(np.int64)
        return x, y

    model = LogisticRegression().fit(*draw(4000))
    chunks = [(*draw(chunk, squeeze), "covariate") for squeeze in np.linspace(0.0, 0.8, 10)]
    chunks += [(x, 1 - y, "concept") for x, y in (draw(chunk), draw(chunk))]
    return model, chunks


def run_cbpe(quick):
    rng = np.random.default_rng(1)
    model, chunks = classifier_stream(rng, chunk=500 if quick else 1000)
    estimated = [fleet.estimate_accuracy(model.predict_proba(x)) for x, _, _ in chunks]
    true = [float((model.predict(x) == y).mean()) for x, y, _ in chunks]
    confidence = np.concatenate([model.predict_proba(x).max(axis=1) for x, _, _ in chunks])
    chunk = len(chunks[0][0])
    adwin = fleet.detect_changes(confidence, "adwin")
    per_window = confidence[: len(confidence) // 100 * 100].reshape(-1, 100).mean(axis=1)
    page_hinkley = fleet.detect_changes(per_window, "page_hinkley", min_instances=10, threshold=0.5, mode="down")
    return {
        "chunk": chunk,
        "kind": [k for _, _, k in chunks],
        "estimated_accuracy": [round(v, 3) for v in estimated],
        "true_accuracy": [round(v, 3) for v in true],
        "largest_error_covariate": round(
            max(abs(e - t) for e, t, (_, _, k) in zip(estimated, true, chunks) if k == "covariate"), 3
        ),
        "largest_error_concept": round(
            max(abs(e - t) for e, t, (_, _, k) in zip(estimated, true, chunks) if k == "concept"), 3
        ),
        "adwin_first_alarm_chunk": (adwin[0] // chunk) if adwin else None,
        "page_hinkley_first_alarm_chunk": (page_hinkley[0] * 100 // chunk) if page_hinkley else None,
    }


def plot_cbpe(cbpe, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    chunks = np.arange(len(cbpe["true_accuracy"]))
    ax.plot(chunks, cbpe["true_accuracy"], "o-", label="true accuracy (labels)")
    ax.plot(chunks, cbpe["estimated_accuracy"], "s--", label="CBPE estimate (no labels)")
    first_concept = cbpe["kind"].index("concept")
    ax.axvspan(first_concept - 0.5, len(chunks) - 0.5, color="0.9", label="labels flip (concept shift)")
    for name, marker in (("adwin", "v"), ("page_hinkley", "^")):
        at = cbpe[f"{name}_first_alarm_chunk"]
        if at is not None:
            ax.plot([at], [0.05], marker, ms=9, label=f"river {name} on confidence: first alarm")
    ax.set_xlabel(f"chunk of {cbpe['chunk']} predictions (inputs slide towards the boundary)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"figure written to {path}")


def print_table(results):
    header = "| detector | false alarms / 1,000 clean windows | " + " | ".join(CHANGES) + " |"
    print(header)
    print("|" + " --- |" * (2 + len(CHANGES)))
    for name, row in results["detectors"].items():
        cells = []
        for change in CHANGES:
            delay, missed = row["delay_windows"][change], row["misses"][change]
            cells.append(("—" if delay is None else f"{delay:g}") + (f" ({missed} missed)" if missed else ""))
        print(f"| {name} | {row['false_alarms_per_1000']:g} | " + " | ".join(cells) + " |")
    print("cells: detection delay in windows (mean over the folds that caught it), folds missed in brackets")


def plot(picture, stride, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, limits, change = picture
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    ends = np.arange(len(rows["calibrated"]["statistic"])) * stride + WINDOW  # window end, in readings
    t = (ends - change) / 256.0  # seconds after the change
    panels = [
        ("naive", "textbook: −log10 min p\n(alarm also needs PSI > 0.25)", limits["naive"]),
        ("calibrated", "calibrated: max D / threshold", limits["calibrated"]),
        ("pca", "PCA: mean reconstruction error", limits["pca"][1]),
    ]
    for ax, (name, label, threshold) in zip(axes, panels):
        ax.plot(t, rows[name]["statistic"], ".-", lw=1, label="statistic per window")
        ax.axhline(threshold, color="tab:red", ls="--", lw=1, label="threshold")
        alarms = np.flatnonzero(rows[name]["alarm"])
        ax.plot(t[alarms], np.asarray(rows[name]["statistic"])[alarms], "x", color="tab:red", label="alarm")
        ax.axvline(0, color="k", lw=1, label="change: 1 sd step on gyro_x")
        ax.set_ylabel(label, fontsize=8)
    bottom = axes[1].get_ylim()[0]
    for name, marker in (("adwin", "v"), ("page_hinkley", "^")):
        hits = np.flatnonzero(rows[name]["alarm"])
        axes[1].plot(t[hits], np.full(hits.size, bottom), marker, ms=8, label=f"river {name} (on this score)")
    axes[0].legend(fontsize=7, loc="upper left", ncol=2)
    axes[1].legend(fontsize=7, loc="upper left", ncol=3, handles=axes[1].get_legend_handles_labels()[0][-2:])
    axes[-1].set_xlabel("seconds from the change to the window's end (256 readings a second)")
    fig.suptitle(
        f"x-IMU stream after a 3,000-reading reference: windows of {WINDOW} readings, one every {stride}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"figure written to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one fold, a window every 100 readings")
    _results.add_option(parser)
    args = parser.parse_args(argv)
    quick = args.quick or scaledown.quick_mode()
    print("quick mode:", quick)
    started = time.monotonic()
    results, picture = run(quick)
    results["cbpe"] = run_cbpe(quick)
    print_table(results)
    cbpe = results["cbpe"]
    print(
        f"CBPE: largest |estimate - true accuracy| {cbpe['largest_error_covariate']} through the covariate shift, "
        f"{cbpe['largest_error_concept']} after the labels flip"
    )
    if not quick or args.results:  # quick mode draws the figure only beside an explicit --results file
        figure = _results.RESULTS / "drift.png" if not args.results else pathlib.Path(args.results).with_suffix(".png")
        plot(picture, results["setup"]["stride"], figure)
        plot_cbpe(results["cbpe"], figure.with_name(figure.stem + "_cbpe.png"))
    _results.save("drift", results, path=args.results, quick=quick, seconds=time.monotonic() - started)


if __name__ == "__main__":
    main()
