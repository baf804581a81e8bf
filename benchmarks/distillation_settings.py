"""Choosing distillation's alpha and temperature on validation images, never on the test set.

    .venv/bin/python benchmarks/distillation_settings.py                      # PyTorch, full mode, about 6 minutes
    .venv/bin/python benchmarks/distillation_settings.py --framework keras    # the same in Keras (several times slower)
    .venv/bin/python benchmarks/distillation_settings.py --quick              # a smoke run (or SCALEDOWN_QUICK=1)

Nested validation on the splits that ``benchmarks/compression.py`` tests on: for each
split (``load_digits(seed=...)``), 20% of its *training* images (stratified) are held out
as validation images; a teacher (MobileNet v1, width 2) and the student alone (width 0.5)
are trained on the other 80%, then the same student is distilled from the same initial
weights with every (alpha, temperature) of the grid, with soft targets — with
``benchmarks/compression.py``'s own functions, so the recipe is the same. The table gives the
validation accuracy per split and the gap recovered from the means. The test images of the
split are not loaded into any model.

A full-mode run writes ``benchmarks/results/distillation_settings.json`` (``--results PATH``
elsewhere, also in quick mode), its figures under the framework's name; a run of the other
framework merges into the same file.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

GRID = ((0.1, 2.0), (0.1, 4.0), (0.1, 8.0), (0.5, 4.0), (0.5, 8.0), (0.0, 4.0))
VALIDATION_FRACTION = 0.2


def validation_split(y, seed, fraction=VALIDATION_FRACTION):
    """Boolean mask of held-out images: ``fraction`` of each class of ``y``, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), bool)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        held[rng.permutation(members)[: int(round(fraction * len(members)))]] = True
    return held


def run(framework, splits, epochs, limit=None, grid=GRID):
    """Validation accuracies ``{"teacher", "alone", (alpha, T), ...}``, one per split."""
    from compression import distil, keras_accuracy, torch_accuracy, train_teacher_and_student  # the same recipe

    from scaledown.compress.distillation import SoftTargetLoss
    from scaledown.foundations import datasets

    accuracy = keras_accuracy if framework == "keras" else torch_accuracy
    scores = {"teacher": [], "alone": [], **{setting: [] for setting in grid}}
    for seed in splits:
        data = datasets.load_digits(layout="NHWC" if framework == "keras" else "NCHW", seed=seed, limit=limit)
        held = validation_split(data.y_train, 1000 + seed)
        x, y = data.x_train[~held], data.y_train[~held]
        xv, yv = data.x_train[held], data.y_train[held]
        teacher, alone, initial = train_teacher_and_student(framework, x, y, epochs, seed)
        scores["teacher"].append(accuracy(teacher, xv, yv))
        scores["alone"].append(accuracy(alone, xv, yv))
        for alpha, temperature in grid:
            kd = distil(teacher, initial, x, y, framework, epochs, seed, SoftTargetLoss(), alpha, temperature)
            scores[(alpha, temperature)].append(kd.evaluate(xv, yv))
        print(f"split {seed}: {len(x)} training, {len(xv)} validation images done", flush=True)
    return scores


def setting_key(alpha, temperature):
    """Key of one (alpha, T) in the results: ``a0.1_T4`` → ``a01_T4``."""
    return f"a{alpha:g}_T{temperature:g}".replace(".", "")


def main():
    import _results
    from compression import save_merged

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs on a subset (as SCALEDOWN_QUICK=1)")
    parser.add_argument("--framework", choices=("torch", "keras"), default="torch")
    parser.add_argument("--splits", type=int, default=None, help="splits (full mode 5, quick 1)")
    _results.add_option(parser)
    args = parser.parse_args()
    if args.splits is not None and args.splits < 1:
        parser.error(f"--splits {args.splits}: use a positive number")
    if args.quick:
        os.environ["SCALEDOWN_QUICK"] = "1"
    from scaledown import pick, quick_mode

    splits = tuple(range(args.splits or pick(full=5, quick=1)))
    epochs, limit = pick(full=30, quick=1), pick(full=None, quick=300)
    print(
        f"distillation settings on validation images — {'quick' if quick_mode() else 'full'} mode, "
        f"{args.framework}, {epochs} epochs, splits {list(splits)}"
    )
    start = time.perf_counter()
    scores = run(args.framework, splits, epochs, limit)
    mean = {key: float(np.mean(values)) for key, values in scores.items()}
    gap = mean["teacher"] - mean["alone"]
    print(f"\n## Validation accuracy ({args.framework}; teacher width 2, student width 0.5)")
    print(f"{'model':<24}{'per split':>{7 * len(splits) + 2}}{'mean':>9}{'recovered':>11}")
    for key, values in scores.items():
        label = key if isinstance(key, str) else f"distilled a={key[0]:g} T={key[1]:g}"
        recovered = (mean[key] - mean["alone"]) / gap if gap > 0 else float("nan")
        each = " ".join(f"{v:6.1%}" for v in values)
        print(
            f"{label:<24}{each:>{7 * len(splits) + 2}}{mean[key]:>9.2%}"
            f"{'' if key in ('teacher', 'alone') else f'{recovered:>11.0%}'}"
        )
    best = max((key for key in scores if not isinstance(key, str)), key=lambda k: mean[k])
    print(f"best on validation: alpha={best[0]:g}, T={best[1]:g}")
    elapsed = time.perf_counter() - start
    print(f"\ntotal {elapsed:.0f} s")

    sizes = [
        (int((~validation_split(y, 1000 + seed)).sum()), int(validation_split(y, 1000 + seed).sum()))
        for seed, y in ((seed, _training_labels(args.framework, seed, limit)) for seed in splits)
    ]
    results = {
        "epochs": epochs,
        "splits": list(splits),
        "validation_fraction": VALIDATION_FRACTION,
        "training_images": [t for t, _ in sizes],
        "validation_images": [v for _, v in sizes],
        "teacher": {"per_split": scores["teacher"], "mean": mean["teacher"]},
        "alone": {"per_split": scores["alone"], "mean": mean["alone"]},
        "gap_points": 100 * gap,
        "settings": {
            setting_key(*key): {
                "alpha": key[0],
                "temperature": key[1],
                "per_split": scores[key],
                "mean": mean[key],
                "recovered": (mean[key] - mean["alone"]) / gap if gap > 0 else float("nan"),
                "wins": sum(d > a for d, a in zip(scores[key], scores["alone"])),
            }
            for key in scores
            if not isinstance(key, str)
        },
        "best": {
            "alpha": best[0],
            "temperature": best[1],
            "key": setting_key(*best),
            "mean": mean[best],
            "recovered": (mean[best] - mean["alone"]) / gap if gap > 0 else float("nan"),
        },
        "seconds": round(elapsed),
        "command": " ".join(["python", "benchmarks/distillation_settings.py", *sys.argv[1:]]),
    }
    save_merged(
        "distillation_settings", {args.framework: results}, path=args.results, quick=quick_mode(), seconds=elapsed
    )


def _training_labels(framework, seed, limit):
    from scaledown.foundations import datasets

    return datasets.load_digits(layout="NHWC" if framework == "keras" else "NCHW", seed=seed, limit=limit).y_train


if __name__ == "__main__":
    main()
