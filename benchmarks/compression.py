"""Compression on `digits`: pruning (scaledown beside tfmot, structured) and distillation (Keras and PyTorch).

    .venv/bin/python benchmarks/compression.py            # full mode, about 35 minutes on 2 quiet CPU cores
    .venv/bin/python benchmarks/compression.py --quick    # a few epochs on a subset (or SCALEDOWN_QUICK=1)

Same data (`digits`, 1,437 training and 360 test images) and the same starting model
(chapter 1's baseline, MobileNet v1 width 1.0) for every pruning method. Accuracy on 360
test digits moves by a point between training runs, so the unstructured pruning results are
repeated over several seeds (``--seeds``, 3 in full mode), and the distillation results over
several train/test splits (``--splits``, 5 in full mode), and judged on the means.

1. unstructured, 80% of the conv and classifier weights: scaledown's ``prune_during_training``
   (global threshold, polynomial schedule) and tfmot's ``prune_low_magnitude`` with
   ``PolynomialDecay`` (one threshold per layer), same epochs and learning rate; accuracy,
   sparsity, and the float32 ``.tflite`` size before and after zlib (gzip) compression;
2. structured: ``prune_channels`` removes 35% of each conv's filters (about half the MACs), then fine-tuning;
   MACs, parameters, measured CPU latency (LiteRT's reference kernels for Keras, eager
   PyTorch on a batch of 64; the dense and pruned models measured in turns, the fastest of
   five medians kept) and accuracy;
3. distillation: teacher MobileNet v1 at width 2 (137,642 parameters), student at width 0.5
   (10,802 parameters, 8% of the teacher's), the student trained alone and distilled (soft
   targets; FitNets hint) from the same initial weights with the same epochs, optimiser and
   schedule, in Keras and in PyTorch, on each of ``--splits`` train/test splits.
   ``benchmarks/distillation_settings.py`` chooses alpha and T on validation images; soft
   targets are run at each temperature of ``--temperatures`` (by default 4, Hinton's usual
   choice, and in PyTorch also 8, the one PyTorch's validation images chose).

A full-mode run writes ``benchmarks/results/compression.json`` (``--results PATH`` elsewhere,
also in quick mode). A run of some ``--parts`` (or ``--frameworks``) merges its figures into
that file and keeps the others; ``runs`` records the command and the seconds of each part.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

PRUNE_LR = 3e-3  # learning rate while pruning: the training one again (learning-rate rewinding)
CHANNEL_RATIO = 0.35  # fraction of each conv's filters removed: about half the MACs
TEACHER_WIDTH = 2.0  # distillation teacher: MobileNet v1 at this width (137,642 parameters)
STUDENT = dict(width=0.5, depth=1.0)  # distillation student: 10,802 parameters, 8% of the teacher's


def keras_accuracy(model, x, y):
    return float((np.asarray(model(x, training=False)).argmax(1) == y).mean())


def torch_accuracy(model, x, y):
    from scaledown.foundations.training import accuracy, predict_torch

    return accuracy(predict_torch(model, x), y)


def _clone(model):
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def unstructured(base, data, epochs, seed=0, learning_rate=PRUNE_LR):
    """scaledown's gradual global pruning beside tfmot's, from the same trained weights, to 80%."""
    import keras
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from scaledown.compress import pruning
    from scaledown.compress.quantization.tensorflow import float_tflite, to_tf_keras

    x, y, xt, yt = data
    rows = []

    def row(name, model, seconds):
        tflite = float_tflite(model)
        rows.append(
            (
                name,
                keras_accuracy(model, xt, yt),
                pruning.model_sparsity(model),
                len(tflite),
                pruning.compressed_size(tflite),
                seconds,
            )
        )

    row("dense baseline", base, 0.0)
    control = _clone(base)  # the same extra training without pruning: is a change pruning's or training's?
    pruning.prune_during_training(
        control, x, y, final_sparsity=0.0, epochs=epochs, learning_rate=learning_rate, seed=seed, progress=False
    )
    row("dense, fine-tuned alike (control)", control, 0.0)
    start = time.perf_counter()
    ours = _clone(base)
    pruning.prune_during_training(
        ours, x, y, final_sparsity=0.8, epochs=epochs, learning_rate=learning_rate, seed=seed, progress=False
    )
    row("scaledown, global, polynomial", ours, time.perf_counter() - start)

    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    steps = epochs * -(-len(x) // 32)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=0.8, begin_step=0, end_step=int(steps * 2 / 3), frequency=10
    )
    wrapped = tfmot.sparsity.keras.prune_low_magnitude(to_tf_keras(base), pruning_schedule=schedule)
    wrapped.compile(
        optimizer=tf_keras.optimizers.Adam(tf_keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    wrapped.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    theirs = _clone(base)  # the stripped tf_keras weights, back in the Keras 3 model, to measure alike
    theirs.set_weights(tfmot.sparsity.keras.strip_pruning(wrapped).get_weights())
    row("tfmot, per layer, PolynomialDecay", theirs, time.perf_counter() - start)

    print(f"\n## Unstructured pruning to 80% (Keras, seed {seed}, {epochs} fine-tuning epochs, lr {learning_rate:g})")
    print(f"{'method':<36}{'accuracy':>9}{'sparsity':>10}{'.tflite B':>11}{'gzip B':>9}{'time s':>8}")
    for name, accuracy, sparsity, size, gz, seconds in rows:
        print(f"{name:<36}{accuracy:>9.1%}{sparsity:>10.1%}{size:>11,}{gz:>9,}{seconds:>8.0f}")
    peak = {
        "dense": pruning.size_report(base)["peak_activation_bytes"],
        "pruned": pruning.size_report(ours)["peak_activation_bytes"],
    }
    print(f"RAM: peak activations {peak['dense']:,} B dense, {peak['pruned']:,} B pruned (unchanged)")
    return rows, peak


def structured(base, data, epochs, framework, ratio=CHANNEL_RATIO):
    """``prune_channels`` then fine-tuning: MACs, parameters, latency and accuracy before and after."""
    from scaledown import pick, profile
    from scaledown.compress import pruning
    from scaledown.foundations import training

    x, y, xt, yt = data
    input_shape = None if framework == "keras" else (1,) + x.shape[1:]
    smaller = pruning.prune_channels(base, ratio)
    if framework == "keras":
        training.train_keras(smaller, x, y, epochs=epochs, learning_rate=1e-3)
        accuracy = keras_accuracy
    else:
        training.train_torch(smaller, x, y, epochs=epochs, learning_rate=1e-3, progress=False)
        accuracy = torch_accuracy
    print(f"\n## Structured pruning, {ratio:.0%} of each conv's filters ({framework}, {epochs} fine-tuning epochs)")
    # Keras: LiteRT's reference kernels (plain loops, as on a microcontroller) at batch 1;
    # PyTorch: eager, a batch of 64 (at batch 1 Python overhead hides the MACs).
    label = "ref. ms / 1" if framework == "keras" else "ms / 64"
    print(f"{'model':<10}{'MACs':>10}{'params':>9}{label:>12}{'accuracy':>10}")
    # the two models measured in turns, the fastest of a few medians each (one round in quick mode)
    rounds = pick(full=5, quick=1)
    if framework == "keras":
        latencies = pruning.measure_latencies((base, smaller), x[:1], rounds, repeats=200, reference_kernels=True)
    else:
        latencies = pruning.measure_latencies((base, smaller), x[:64], rounds, repeats=50)
    rows = []
    for (name, model), latency in zip((("dense", base), ("pruned", smaller)), latencies):
        p = profile(model, input_shape=input_shape)
        rows.append((name, p.macs, p.parameters, latency, accuracy(model, xt, yt)))
        print(f"{name:<10}{p.macs:>10,}{p.parameters:>9,}{latency:>12.4f}{rows[-1][-1]:>10.1%}")
    print(
        f"MACs x{rows[1][1] / rows[0][1]:.2f}, latency x{rows[1][3] / rows[0][3]:.2f}, "
        f"accuracy {100 * (rows[1][4] - rows[0][4]):+.1f} points"
    )
    return rows


HINT_LAYERS = {"keras": ("block3_pointwise_relu6", "block2_pointwise_relu6"), "torch": ("block3", "block2")}


DISTILLATION_LOSSES = ("soft", "hint")


SOFT_ALPHA, SOFT_TEMPERATURE = 0.1, 4.0  # Hinton et al.'s usual choice; see benchmarks/distillation_settings.py


# soft-target temperatures run by default: 4, and in PyTorch also 8, the best on PyTorch's validation
# images (benchmarks/distillation_settings.py)
SOFT_TEMPERATURES = {"torch": (SOFT_TEMPERATURE, 8.0), "keras": (SOFT_TEMPERATURE,)}


def loss_key(loss, temperature=SOFT_TEMPERATURE):
    """Key of one experiment in the results: ``soft_T4``, ``soft_T8``, ``hint``."""
    return f"soft_T{temperature:g}".replace(".", "_") if loss == "soft" else loss


def _distillation_recipe(loss, framework, temperature=SOFT_TEMPERATURE):
    """(loss object, alpha, temperature) of the soft-target or the hint experiment."""
    from scaledown.compress.distillation import HintLoss, SoftTargetLoss

    if loss == "soft":
        return SoftTargetLoss(), SOFT_ALPHA, temperature
    return HintLoss(*HINT_LAYERS[framework]), 0.5, 1.0


def train_teacher_and_student(framework, x, y, epochs, seed, teacher_width=TEACHER_WIDTH):
    """Train the teacher and the student alone on ``x, y``, seeded by ``seed``.

    Returns ``(teacher, alone, initial)``; ``initial`` is an untrained copy of the student alone
    with its initial weights, for distilling from the same start.
    """
    import copy

    from scaledown.foundations import models, training

    if framework == "keras":
        import keras

        keras.utils.set_random_seed(seed)  # before building: the initial weights too
        teacher = models.mobilenet_v1(width=teacher_width, framework=framework)
        training.train_keras(teacher, x, y, epochs=epochs, seed=seed)
        alone = models.mobilenet_v1(**STUDENT, framework=framework)
        initial = _clone(alone)
        training.train_keras(alone, x, y, epochs=epochs, seed=seed)
    else:
        import torch

        torch.manual_seed(seed)
        teacher = models.mobilenet_v1(width=teacher_width, framework=framework)
        training.train_torch(teacher, x, y, epochs=epochs, seed=seed, progress=False)
        alone = models.mobilenet_v1(**STUDENT, framework=framework)
        initial = copy.deepcopy(alone)
        training.train_torch(alone, x, y, epochs=epochs, seed=seed, progress=False)
    return teacher, alone, initial


def distil(teacher, initial, x, y, framework, epochs, seed, distillation_loss, alpha, temperature):
    """Distil ``teacher`` into a copy of ``initial`` with the student alone's optimiser and schedule.

    Adam from 3e-3, cosine-decayed over all steps, batch 32, ``epochs`` epochs. Returns the
    ``KnowledgeDistillation`` (its ``student`` is the distilled model).
    """
    import copy

    from scaledown.compress.distillation import KnowledgeDistillation

    steps = epochs * -(-len(x) // 32)
    if framework == "keras":
        import keras

        student = _clone(initial)
        keras.utils.set_random_seed(seed)
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps))
        options = {}
    else:
        import torch

        student = copy.deepcopy(initial)
        optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
        options = {"lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)}
    kd = KnowledgeDistillation(
        teacher, student, optimizer, distillation_loss, alpha=alpha, temperature=temperature, **options
    )
    kd.fit(x, y, epochs=epochs, seed=seed, progress=False)
    return kd


def _stats(values):
    return {"per_split": [float(v) for v in values], "mean": float(np.mean(values))}


def distillation(
    epochs,
    framework,
    splits=(0,),
    losses=DISTILLATION_LOSSES,
    teacher_width=TEACHER_WIDTH,
    limit=None,
    temperatures=(SOFT_TEMPERATURE,),
):
    """Teacher MobileNet v1 (``teacher_width``); student ``STUDENT``, trained alone and distilled.

    ``"soft"``: Hinton's soft targets (``alpha=0.1``, at each ``T`` of ``temperatures``); ``"hint"``:
    FitNets' hint on the teacher's block-3 and the student's block-2 features (both 4x4), ``alpha=0.5``.

    The gap is two or three points, and one point is about four of the 360 test images, so
    one split of the data cannot measure it: each seed in ``splits`` draws its own stratified
    train/test split of `digits` (``load_digits(seed=...)``, repeated random sub-sampling)
    and trains on it a teacher, the student alone, and the student distilled with each loss
    in ``losses`` — every student from the same initial weights, with the same epochs,
    optimiser and schedule. The gap recovered is computed from the mean accuracies over the
    splits. Returns the results: parameter counts and, per experiment (``loss_key``), the
    per-split and mean accuracies of the teacher, the student alone and the distilled student,
    the gap, the share of it recovered, and the splits the distilled student wins and ties.
    """
    from scaledown.foundations import datasets

    if framework == "keras":
        count = lambda m: sum(int(np.prod(w.shape)) for w in m.trainable_weights)  # noqa: E731
        accuracy = keras_accuracy
    else:
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        accuracy = torch_accuracy
    experiments = [(loss, t) for loss in losses for t in (temperatures if loss == "soft" else (1.0,))]
    teachers, alones, train_sizes, test_sizes = [], [], [], []
    distilled = {experiment: [] for experiment in experiments}
    for seed in splits:
        x, y, xt, yt = datasets.load_digits(layout="NHWC" if framework == "keras" else "NCHW", seed=seed, limit=limit)
        train_sizes.append(len(x))
        test_sizes.append(len(xt))
        teacher, alone, initial = train_teacher_and_student(framework, x, y, epochs, seed, teacher_width)
        teachers.append(accuracy(teacher, xt, yt))
        alones.append(accuracy(alone, xt, yt))
        for loss, t in experiments:
            kd = distil(teacher, initial, x, y, framework, epochs, seed, *_distillation_recipe(loss, framework, t))
            distilled[(loss, t)].append(accuracy(kd.student, xt, yt))

    results = {
        "epochs": epochs,
        "splits": list(splits),
        "training_images": train_sizes,
        "test_images": test_sizes,
        "teacher_width": teacher_width,
        "student_width": STUDENT["width"],
        "teacher_parameters": count(teacher),
        "student_parameters": count(alone),
        "parameter_ratio": count(alone) / count(teacher),
    }
    width = max(7 * len(splits) + 2, 22)
    for loss, t in experiments:
        distillation_loss, alpha, loss_temperature = _distillation_recipe(loss, framework, t)
        scores = {"teacher": teachers, "alone": alones, "distilled": distilled[(loss, t)]}
        mean = {key: float(np.mean(values)) for key, values in scores.items()}
        gap = mean["teacher"] - mean["alone"]
        recovered = (mean["distilled"] - mean["alone"]) / gap if gap > 0 else float("nan")
        print(
            f"\n## Distillation, {distillation_loss} ({framework}, {epochs} epochs each, alpha={alpha}, "
            f"T={loss_temperature}, splits {list(splits)})"
        )
        print(f"{'model':<26}{'params':>9}{'accuracy (per split)':>{width}}{'mean':>9}")
        for label, key, model in (
            (f"teacher (width {teacher_width:g})", "teacher", teacher),
            ("student alone", "alone", alone),
            ("student distilled", "distilled", alone),
        ):
            each = " ".join(f"{v:6.1%}" for v in scores[key])
            print(f"{label:<26}{count(model):>9,}{each:>{width}}{mean[key]:>9.2%}")
        wins = sum(d > a for d, a in zip(scores["distilled"], alones))
        ties = sum(d == a for d, a in zip(scores["distilled"], alones))
        print(
            f"student/teacher parameters {count(alone) / count(teacher):.3f}; gap {100 * gap:.2f} points; "
            f"recovered {recovered:.0%}; distilled beats alone on {wins} of {len(splits)} splits, ties {ties}"
        )
        results[loss_key(loss, t)] = {
            "loss": loss,
            "alpha": alpha,
            "temperature": loss_temperature,
            **{key: _stats(values) for key, values in scores.items()},
            "gap_points": 100 * gap,
            "gain_points": 100 * (mean["distilled"] - mean["alone"]),
            "recovered": recovered,
            "wins": wins,
            "ties": ties,
            "losses": len(splits) - wins - ties,
        }
    return results


def merge(old, new):
    """``new`` laid over ``old``, dict by dict (the parts a run did not make stay as they were)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    merged = dict(old)
    for key, value in new.items():
        merged[key] = merge(old.get(key), value)
    return merged


def save_merged(name, results, *, path, quick, seconds):
    """Merge ``results`` into the results file of the same mode (if any) and write it with ``_results.save``."""
    import _results

    target = pathlib.Path(path) if path else _results.RESULTS / f"{name}.json"
    if (path is not None or not quick) and target.is_file():
        try:
            record = json.loads(target.read_text())
        except ValueError:
            record = {}
        same = record.get("command", "").startswith(f"python benchmarks/{name}.py")  # not another benchmark's
        if same and record.get("mode") == ("quick" if quick else "full"):
            results = merge(record.get("results", {}), results)
    return _results.save(name, results, path=path, quick=quick, seconds=seconds)


def _command():
    return " ".join(["python", "benchmarks/compression.py", *sys.argv[1:]])


def _structured_both(nhwc, nchw, epochs, tune):
    """Structured pruning of a freshly trained baseline, in Keras and in PyTorch (seed 0)."""
    import keras
    import torch

    from scaledown.foundations import models, training

    keras.utils.set_random_seed(0)
    base = models.baseline("keras")
    training.train_keras(base, nhwc.x_train, nhwc.y_train, epochs=epochs)
    results = {
        "ratio": CHANNEL_RATIO,
        "seed": 0,
        "training_epochs": epochs,
        "fine_tuning_epochs": tune,
        "learning_rate": 1e-3,
        "keras": _structured_results(structured(base, nhwc, tune, "keras")),
    }
    torch.manual_seed(0)
    base_torch = models.baseline("torch")
    training.train_torch(base_torch, nchw.x_train, nchw.y_train, epochs=epochs, progress=False)
    results["torch"] = _structured_results(structured(base_torch, nchw, tune, "torch"))
    results["keras"]["latency"] = (
        "LiteRT reference kernels, batch 1, ms: fastest median of interleaved rounds (5 in full mode)"
    )
    results["torch"]["latency"] = "eager PyTorch, batch 64, ms: fastest median of interleaved rounds (5 in full mode)"
    return results


def _structured_results(rows):
    (_, macs, params, ms, acc), (_, pmacs, pparams, pms, pacc) = rows
    return {
        "dense": {"macs": macs, "parameters": params, "latency_ms": ms, "accuracy": acc},
        "pruned": {"macs": pmacs, "parameters": pparams, "latency_ms": pms, "accuracy": pacc},
        "macs_ratio": pmacs / macs,
        "parameters_ratio": pparams / params,
        "latency_ratio": pms / ms,
        "accuracy_change_points": 100 * (pacc - acc),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs on a subset (as SCALEDOWN_QUICK=1)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds for unstructured pruning (full mode 3, quick 1)")
    parser.add_argument(
        "--splits", type=int, default=None, help="train/test splits for distillation (full mode 5, quick 1)"
    )
    parser.add_argument(
        "--parts",
        default="unstructured,structured,distillation",
        help="comma-separated subset of unstructured, structured, distillation",
    )
    parser.add_argument("--frameworks", default="torch,keras", help="distillation: comma-separated torch, keras")
    parser.add_argument(
        "--temperatures",
        default=None,
        help="distillation: comma-separated soft-target temperatures (default 4,8 in PyTorch, 4 in Keras)",
    )
    parser.add_argument(
        "--prune-lr",
        type=float,
        default=PRUNE_LR,
        help=f"learning rate of unstructured pruning's fine-tuning (default {PRUNE_LR:g})",
    )
    import _results

    _results.add_option(parser)
    args = parser.parse_args()
    if args.quick:
        os.environ["SCALEDOWN_QUICK"] = "1"
    import keras

    from scaledown import pick, quick_mode
    from scaledown.foundations import datasets, models, training

    limit, epochs, tune = pick(full=None, quick=300), pick(full=30, quick=2), pick(full=30, quick=1)
    seeds = tuple(range(args.seeds or pick(full=3, quick=1)))
    splits = tuple(range(args.splits or pick(full=5, quick=1)))
    for option in ("seeds", "splits"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} {getattr(args, option)}: use a positive number")
    parts = set(args.parts.split(","))
    if not set(args.frameworks.split(",")) <= {"torch", "keras"}:
        parser.error(f"--frameworks {args.frameworks!r}: use a comma-separated subset of torch, keras")
    if not parts <= {"unstructured", "structured", "distillation"}:
        parser.error(f"--parts {args.parts!r}: use a comma-separated subset of unstructured, structured, distillation")
    try:
        temperatures = {
            framework: tuple(float(t) for t in args.temperatures.split(","))
            if args.temperatures
            else SOFT_TEMPERATURES[framework]
            for framework in ("torch", "keras")
        }
    except ValueError:
        parser.error(f"--temperatures {args.temperatures!r}: use comma-separated numbers, e.g. 4,8")
    print(
        f"compression benchmark on digits — {'quick' if quick_mode() else 'full'} mode: "
        f"{epochs} training epochs, {tune} fine-tuning epochs, training images: {limit or 'all'}, seeds {list(seeds)}"
    )
    nhwc, nchw = datasets.load_digits(limit=limit), datasets.load_digits(layout="NCHW", limit=limit)
    start = time.perf_counter()

    results, runs = {}, {}
    names = {
        "scaledown, global, polynomial": "scaledown",
        "tfmot, per layer, PolynomialDecay": "tfmot",
        "dense baseline": "dense",
        "dense, fine-tuned alike (control)": "control",
    }
    if "unstructured" in parts:
        part_start = time.perf_counter()
        per_seed, drops, peak = [], {"scaledown": [], "tfmot": [], "control": []}, None
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            base = models.baseline("keras")
            training.train_keras(base, nhwc.x_train, nhwc.y_train, epochs=epochs, seed=seed)
            rows, peak_seed = unstructured(base, nhwc, tune, seed=seed, learning_rate=args.prune_lr)
            peak = peak or peak_seed
            dense = rows[0][1]
            entry = {}
            for name, accuracy, sparsity, size, gz, seconds in rows:
                key = names[name]
                entry[key] = {
                    "accuracy": accuracy,
                    "sparsity": sparsity,
                    "tflite_bytes": size,
                    "gzip_bytes": gz,
                    "seconds": seconds,
                    "drop_points": 100 * (dense - accuracy),
                }
                if key != "dense":
                    drops[key].append(100 * (dense - accuracy))
            per_seed.append(entry)
        print(
            f"\n## Unstructured pruning to 80%: accuracy lost against the dense model (negative: gained), "
            f"over seeds {list(seeds)}"
        )
        for name in ("scaledown, global, polynomial", "tfmot, per layer, PolynomialDecay"):
            values = drops[names[name]]
            each = ", ".join(f"{v:+.2f}" for v in values)
            print(f"{name:<36} mean {np.mean(values):+.2f} points ({each})")
        print(f"{'(control: dense, fine-tuned alike)':<36} mean {np.mean(drops['control']):+.2f} points")
        results["unstructured"] = {
            "seeds": list(seeds),
            "training_epochs": epochs,
            "fine_tuning_epochs": tune,
            "learning_rate": args.prune_lr,
            "final_sparsity": 0.8,
            "per_seed": per_seed,
            "peak_activation_bytes": peak,
            "drop_points": {key: {"per_seed": values, "mean": float(np.mean(values))} for key, values in drops.items()},
            "accuracy": {
                key: {
                    "per_seed": [e[key]["accuracy"] for e in per_seed],
                    "mean": float(np.mean([e[key]["accuracy"] for e in per_seed])),
                }
                for key in ("dense", "control", "scaledown", "tfmot")
            },
        }
        runs["unstructured"] = {"command": _command(), "seconds": round(time.perf_counter() - part_start)}

    if "structured" in parts:
        part_start = time.perf_counter()
        results["structured"] = _structured_both(nhwc, nchw, epochs, tune)
        runs["structured"] = {"command": _command(), "seconds": round(time.perf_counter() - part_start)}
    if "distillation" in parts:
        results["distillation"] = {}
        for framework in args.frameworks.split(","):
            part_start = time.perf_counter()
            results["distillation"][framework] = distillation(
                epochs, framework, splits=splits, limit=limit, temperatures=temperatures[framework]
            )
            runs[f"distillation_{framework}"] = {
                "command": _command(),
                "seconds": round(time.perf_counter() - part_start),
            }
    results["runs"] = runs
    elapsed = time.perf_counter() - start
    print(f"\ntotal {elapsed:.0f} s")
    save_merged("compression", results, path=args.results, quick=quick_mode(), seconds=elapsed)


if __name__ == "__main__":
    main()
