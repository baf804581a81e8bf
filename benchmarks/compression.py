"""Compression on `digits`: pruning (scaledown beside tfmot, structured) and distillation (Keras and PyTorch).

    .venv/bin/python benchmarks/compression.py            # full mode, about half an hour on 2 CPU cores
    .venv/bin/python benchmarks/compression.py --quick    # a few epochs on a subset (or SCALEDOWN_QUICK=1)

Same data (`digits`, 1,437 training and 360 test images) and the same starting model
(chapter 1's baseline, MobileNet v1 width 0.5) for every pruning method:

1. unstructured, 80% of the conv and dense weights: scaledown's ``prune_during_training``
   (global threshold, polynomial schedule) and tfmot's ``prune_low_magnitude`` with
   ``PolynomialDecay`` (one threshold per layer), same epochs and learning rate; accuracy,
   sparsity, and the float32 ``.tflite`` size before and after zlib (gzip) compression;
2. structured: ``prune_channels`` removes 40% of each conv's filters, then fine-tuning;
   MACs, parameters, measured CPU latency (LiteRT's reference kernels for Keras, eager
   PyTorch on a batch of 64) and accuracy;
3. distillation: teacher MobileNet v1 width 1.0, student width 0.25 depth 0.5 (about a
   twentieth of the parameters), the student trained alone and distilled with the same
   epochs, optimiser and schedule, in Keras and in PyTorch.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _keras_accuracy(model, x, y):
    return float((np.asarray(model(x, training=False)).argmax(1) == y).mean())


def _torch_accuracy(model, x, y):
    from scaledown.training import accuracy, predict_torch

    return accuracy(predict_torch(model, x), y)


def _clone(model):
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def unstructured(base, data, epochs):
    """scaledown's gradual global pruning beside tfmot's, from the same trained weights, to 80%."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from scaledown import pruning
    from scaledown.quantization.tensorflow import float_tflite, to_tf_keras

    x, y, xt, yt = data
    rows = []

    def row(name, model, seconds):
        tflite = float_tflite(model)
        rows.append((name, _keras_accuracy(model, xt, yt), pruning.model_sparsity(model), len(tflite),
                     pruning.compressed_size(tflite), seconds))

    row("dense baseline", base, 0.0)
    start = time.perf_counter()
    ours = _clone(base)
    pruning.prune_during_training(ours, x, y, final_sparsity=0.8, epochs=epochs, learning_rate=1e-3, progress=False)
    row("scaledown, global, polynomial", ours, time.perf_counter() - start)

    start = time.perf_counter()
    steps = epochs * -(-len(x) // 32)
    schedule = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=0.8, begin_step=0,
                                                    end_step=int(steps * 2 / 3), frequency=10)
    wrapped = tfmot.sparsity.keras.prune_low_magnitude(to_tf_keras(base), pruning_schedule=schedule)
    wrapped.compile(optimizer=tf_keras.optimizers.Adam(tf_keras.optimizers.schedules.CosineDecay(1e-3, steps)),
                    loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    wrapped.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    theirs = _clone(base)  # the stripped tf_keras weights, back in the Keras 3 model, to measure alike
    theirs.set_weights(tfmot.sparsity.keras.strip_pruning(wrapped).get_weights())
    row("tfmot, per layer, PolynomialDecay", theirs, time.perf_counter() - start)

    print(f"\n## Unstructured pruning to 80% (Keras, {epochs} fine-tuning epochs)")
    print(f"{'method':<36}{'accuracy':>9}{'sparsity':>10}{'.tflite B':>11}{'gzip B':>9}{'time s':>8}")
    for name, accuracy, sparsity, size, gz, seconds in rows:
        print(f"{name:<36}{accuracy:>9.1%}{sparsity:>10.1%}{size:>11,}{gz:>9,}{seconds:>8.0f}")
    print(f"RAM: peak activations {pruning.size_report(base)['peak_activation_bytes']:,} B dense, "
          f"{pruning.size_report(ours)['peak_activation_bytes']:,} B pruned (unchanged)")
    return rows


def structured(base, data, epochs, framework, ratio=0.4):
    """``prune_channels`` then fine-tuning: MACs, parameters, latency and accuracy before and after."""
    from scaledown import profile, pruning, training

    x, y, xt, yt = data
    input_shape = None if framework == "keras" else (1,) + x.shape[1:]
    smaller = pruning.prune_channels(base, ratio)
    if framework == "keras":
        training.train_keras(smaller, x, y, epochs=epochs, learning_rate=1e-3)
        accuracy = _keras_accuracy
    else:
        training.train_torch(smaller, x, y, epochs=epochs, learning_rate=1e-3, progress=False)
        accuracy = _torch_accuracy
    print(f"\n## Structured pruning, {ratio:.0%} of each conv's filters ({framework}, {epochs} fine-tuning epochs)")
    # Keras: LiteRT's reference kernels (plain loops, as on a microcontroller) at batch 1;
    # PyTorch: eager, a batch of 64 (at batch 1 Python overhead hides the MACs).
    label = "ref. ms / 1" if framework == "keras" else "ms / 64"
    print(f"{'model':<10}{'MACs':>10}{'params':>9}{label:>12}{'accuracy':>10}")
    rows = []
    for name, model in (("dense", base), ("pruned", smaller)):
        p = profile(model, input_shape=input_shape)
        if framework == "keras":
            latency = pruning.measure_latency(model, x[:1], repeats=200, reference_kernels=True)
        else:
            latency = pruning.measure_latency(model, x[:64], repeats=50)
        rows.append((name, p.macs, p.parameters, latency, accuracy(model, xt, yt)))
        print(f"{name:<10}{p.macs:>10,}{p.parameters:>9,}{latency:>12.4f}{rows[-1][-1]:>10.1%}")
    print(f"MACs x{rows[1][1] / rows[0][1]:.2f}, latency x{rows[1][3] / rows[0][3]:.2f}, "
          f"accuracy {100 * (rows[1][4] - rows[0][4]):+.1f} points")
    return rows


def distillation(data, epochs, framework, alpha=0.1, temperature=4.0):
    """Teacher width 1.0; student width 0.25, depth 0.5, trained alone and distilled with the same budget."""
    from scaledown import models, training
    from scaledown.distillation import KnowledgeDistillation

    x, y, xt, yt = data
    steps = epochs * -(-len(x) // 32)
    teacher = models.mobilenet_v1(width=1.0, framework=framework)
    alone = models.mobilenet_v1(width=0.25, depth=0.5, framework=framework)
    student = models.mobilenet_v1(width=0.25, depth=0.5, framework=framework)
    if framework == "keras":
        import keras

        training.train_keras(teacher, x, y, epochs=epochs)
        training.train_keras(alone, x, y, epochs=epochs)
        keras.utils.set_random_seed(0)
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps))
        count = lambda m: sum(int(np.prod(w.shape)) for w in m.trainable_weights)  # noqa: E731
        accuracy = _keras_accuracy
    else:
        import torch

        training.train_torch(teacher, x, y, epochs=epochs, progress=False)
        training.train_torch(alone, x, y, epochs=epochs, progress=False)
        torch.manual_seed(0)
        optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)  # as train_torch
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        accuracy = _torch_accuracy
    kd = KnowledgeDistillation(teacher, student, optimizer, alpha=alpha, temperature=temperature,
                               **({"lr_scheduler": scheduler} if framework == "torch" else {}))
    kd.fit(x, y, epochs=epochs, progress=False)
    accuracies = {name: accuracy(m, xt, yt) for name, m in (("teacher", teacher), ("alone", alone),
                                                             ("distilled", student))}
    gap = accuracies["teacher"] - accuracies["alone"]
    recovered = (accuracies["distilled"] - accuracies["alone"]) / gap if gap > 0 else float("nan")
    print(f"\n## Distillation ({framework}, {epochs} epochs each, alpha={alpha}, T={temperature})")
    print(f"{'model':<24}{'params':>9}{'accuracy':>10}")
    for label, key, model in (("teacher (width 1.0)", "teacher", teacher), ("student alone", "alone", alone),
                              ("student distilled", "distilled", student)):
        print(f"{label:<24}{count(model):>9,}{accuracies[key]:>10.1%}")
    print(f"student/teacher parameters {count(student) / count(teacher):.2f}; gap recovered {recovered:.0%}")
    return accuracies, recovered


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs on a subset (as SCALEDOWN_QUICK=1)")
    args = parser.parse_args()
    if args.quick:
        os.environ["SCALEDOWN_QUICK"] = "1"
    import keras

    from scaledown import datasets, models, pick, quick_mode, training

    limit, epochs, tune = pick(full=None, quick=300), pick(full=30, quick=2), pick(full=30, quick=1)
    print(f"compression benchmark on digits — {'quick' if quick_mode() else 'full'} mode: "
          f"{epochs} training epochs, {tune} fine-tuning epochs, training images: {limit or 'all'}")
    nhwc, nchw = datasets.load_digits(limit=limit), datasets.load_digits(layout="NCHW", limit=limit)
    start = time.perf_counter()

    keras.utils.set_random_seed(0)
    base = models.baseline("keras")
    training.train_keras(base, nhwc.x_train, nhwc.y_train, epochs=epochs)
    unstructured(base, nhwc, tune)
    structured(base, nhwc, tune, "keras")
    base_torch = models.baseline("torch")
    training.train_torch(base_torch, nchw.x_train, nchw.y_train, epochs=epochs, progress=False)
    structured(base_torch, nchw, tune, "torch")
    distillation(nhwc, epochs, "keras")
    distillation(nchw, epochs, "torch")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
