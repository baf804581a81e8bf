"""Deployment chapter's measurements, in one run (not a timed test).

1. Pi package vs LiteRT called directly: median latency of the package's
   ``predict.py`` (preprocess, quantize, invoke, dequantize) against LiteRT
   called directly on the same int8 model with the same thread count — with
   the input quantization and output dequantization any caller of an int8
   model must do ("direct"), and ``invoke`` alone — for the digits baseline
   and for a larger MobileNet as a Pi would typically run.
2. IMU gesture model for the Nano 33 BLE Sense: arena, flash, accuracy, and
   TFLite Micro vs LiteRT bit for bit on the whole test set.
3. Cascade on digits: a tiny MLP gating chapter 1's baseline; the threshold is
   picked on a validation split, accuracy and compute reported on the test set.

    .venv/bin/python benchmarks/deployment.py          # full mode (a few minutes)
    SCALEDOWN_QUICK=1 .venv/bin/python benchmarks/deployment.py

A full-mode run writes ``benchmarks/results/deployment.json``, which chapter 6 quotes.
"""

import argparse
import tempfile
import time
from pathlib import Path

import _results
import numpy as np

import scaledown
from scaledown.deploy import architectures as arch
from scaledown.deploy.linux import load_program
from scaledown.foundations import datasets, models, training


def interleaved_medians(runs: dict, repeats: int, rounds: int = 50) -> dict:
    """Median seconds of each function, measured in many short alternating blocks so all see the same machine load."""
    times = {name: [] for name in runs}
    for fn in runs.values():
        for _ in range(20):
            fn()
    for _ in range(rounds):
        for name, fn in runs.items():
            for _ in range(repeats // rounds):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def pi_package_overhead(model, x, folder: Path, name: str) -> dict:
    """Median ms of: LiteRT invoke alone; LiteRT called directly with the int8 conversion any caller needs
    (quantize the input, dequantize the output); and the package's ``predict.py`` on a raw input."""
    from ai_edge_litert.interpreter import Interpreter

    package = scaledown.create_deployment_package(
        model, target="pi", out=folder / name, name=name, representative_data=x[:300]
    )
    program = load_program(package.path).Model(package.path, num_threads=1)
    sample = x[:1]
    direct = Interpreter(model_content=(package.path / "model.tflite").read_bytes(), num_threads=1)
    direct.allocate_tensors()
    inp, out = direct.get_input_details()[0], direct.get_output_details()[0]
    (scale, zero), (out_scale, out_zero) = inp["quantization"], out["quantization"]
    q = np.clip(np.round(sample / scale) + zero, -128, 127).astype(np.int8)

    def invoke_only():
        direct.set_tensor(inp["index"], q)
        direct.invoke()
        return direct.get_tensor(out["index"])

    def litert_direct():
        direct.set_tensor(inp["index"], np.clip(np.round(sample / scale) + zero, -128, 127).astype(np.int8))
        direct.invoke()
        return out_scale * (direct.get_tensor(out["index"]).astype(np.float32) - out_zero)

    medians = interleaved_medians(
        {"package": lambda: program.predict(sample), "direct": litert_direct, "invoke": invoke_only},
        repeats=scaledown.pick(full=3000, quick=300),
    )
    return {
        **{k: v * 1000 for k, v in medians.items()},
        "invoke_us": medians["invoke"] * 1e6,
        "ratio": medians["package"] / medians["direct"],
        "overhead": medians["package"] / medians["direct"] - 1,
        "macs": scaledown.profile((package.path / "model.tflite").read_bytes(), target="pi").macs,
    }


def gesture_package(folder: Path) -> dict:
    import keras

    x_train, y_train, x_test, y_test = datasets.load_motions()
    mean, std = x_train.mean(axis=(0, 1)), x_train.std(axis=(0, 1))
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((100, 6)),
            keras.layers.Conv1D(16, 5, strides=2, activation="relu"),
            keras.layers.Conv1D(32, 5, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling1D(keepdims=True),
            keras.layers.Conv1D(4, 1),
            keras.layers.Reshape((4,)),
        ]
    )
    training.train_keras(model, (x_train - mean) / std, y_train, epochs=scaledown.pick(full=60, quick=5), batch_size=8)
    package = scaledown.create_deployment_package(
        model,
        target="nano33ble",
        out=folder / "gesture-nano",
        name="gesture",
        representative_data=(x_train - mean) / std,
        sample_inputs=x_test,
        preprocessing={
            "multiply": (1 / std).tolist(),
            "add": (-mean / std).tolist(),
            "description": "standardise each IMU channel with the training mean and std",
        },
        class_names=datasets.MOTIONS_CLASSES,
    )
    from scaledown.deploy.micro import read_c_array, run_litert_reference, run_tflm

    content = read_c_array((package.path / "model_data.cc").read_text())
    x_int8 = np.load(package.path / "samples" / "inputs_int8.npy")
    tflm = run_tflm(content, x_int8, arena_size=package.manifest["arena"]["bytes"])
    float_accuracy = float((model.predict((x_test - mean) / std, verbose=0).argmax(1) == y_test).mean())
    return {
        "arena_bytes": package.report["arena_bytes"],
        "arena_measured_bytes": package.report["arena_measured_bytes"],
        "flash_bytes": package.report["model_flash_bytes"],
        "bit_exact": bool(np.array_equal(tflm, run_litert_reference(content, x_int8))),
        "test_samples": len(x_int8),
        "float_accuracy": float_accuracy,
        "int8_tflm_accuracy": float((tflm.argmax(1) == y_test).mean()),
    }


def tiny_digits_model():
    """The always-on stage: average 4x4 blocks (32x32 -> 8x8, the digits' native resolution), then an MLP."""
    import keras

    return keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            keras.layers.AveragePooling2D(4),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def cascade() -> dict:
    x_train, y_train, x_test, y_test = datasets.load_digits(limit=scaledown.pick(full=None, quick=400))
    cut = int(0.8 * len(x_train))
    (x_fit, y_fit), (x_val, y_val) = (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])
    small, large = tiny_digits_model(), models.baseline("keras")
    training.train_keras(small, x_fit, y_fit, epochs=scaledown.pick(full=30, quick=3))
    training.train_keras(large, x_fit, y_fit, epochs=scaledown.pick(full=30, quick=3))
    small_macs = scaledown.profile(small, target="nano33ble").macs
    large_macs = scaledown.profile(large, target="nano33ble").macs
    val = arch.cascade_sweep(
        small.predict(x_val, verbose=0), large.predict(x_val, verbose=0), y_val, small_macs, large_macs
    )
    chosen = arch.pick_threshold(val, max_accuracy_drop=0.005) or val[-1]
    test = arch.cascade_outcome(
        small.predict(x_test, verbose=0),
        large.predict(x_test, verbose=0),
        y_test,
        chosen["threshold"],
        small_macs,
        large_macs,
    )
    return {
        "small_macs": small_macs,
        "large_macs": large_macs,
        "small_relative_compute": small_macs / large_macs,
        "validation_samples": len(y_val),
        "test_samples": len(y_test),
        **test,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _results.add_option(parser)
    args = parser.parse_args(argv)
    started = time.monotonic()
    print("quick mode:", scaledown.quick_mode())
    pi_results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        x_train, y_train, _, _ = datasets.load_digits(limit=scaledown.pick(full=None, quick=300))
        baseline = models.baseline("keras")
        training.train_keras(baseline, x_train, y_train, epochs=scaledown.pick(full=5, quick=1))
        larger = models.mobilenet_v1(input_shape=(96, 96, 3), num_classes=10, width=1.0)
        x_larger = (
            np.random.default_rng(0).uniform(0, 1, (scaledown.pick(full=100, quick=20), 96, 96, 3)).astype(np.float32)
        )
        print("\n1. Pi package vs LiteRT called directly (int8, 1 thread, this CPU; median ms)")
        print(f"{'model':34s}{'MACs':>12}{'invoke only':>13}{'direct':>10}{'package':>10}{'package/direct':>16}")
        for label, model, x in (
            ("digits baseline (32x32x1)", baseline, x_train),
            ("MobileNet v1 1.0 (96x96x3)", larger, x_larger),
        ):
            pi = pi_package_overhead(model, x, folder, label.split()[0].lower())
            pi_results[label.split()[0].lower()] = pi
            print(
                f"{label:34s}{pi['macs']:>12,}{pi['invoke']:>13.4f}{pi['direct']:>10.4f}{pi['package']:>10.4f}"
                f"{pi['ratio']:>15.3f}x"
            )
        g = gesture_package(folder)
        print(
            f"\n2. IMU gesture package for nano33ble: arena {g['arena_bytes']:,} bytes (measured "
            f"{g['arena_measured_bytes']:,}), flash {g['flash_bytes']:,} bytes; TFLite Micro == LiteRT bit for bit "
            f"on {g['test_samples']} test recordings: {g['bit_exact']}; accuracy float {g['float_accuracy']:.1%}, "
            f"int8 on TFLite Micro {g['int8_tflm_accuracy']:.1%}"
        )
    c = cascade()
    print(
        f"\n3. Cascade on digits (threshold {c['threshold']} picked on validation): accuracy {c['accuracy']:.1%} vs "
        f"large {c['large_accuracy']:.1%} (small alone {c['small_accuracy']:.1%}); escalated {c['escalated']:.1%}; "
        f"average compute {c['average_macs']:,.0f} MACs = {c['relative_compute']:.1%} of the large model's "
        f"{c['large_macs']:,} (small {c['small_macs']:,})"
    )
    _results.save(
        "deployment",
        {"pi": pi_results, "gesture": g, "cascade": c},
        path=args.results,
        quick=scaledown.quick_mode(),
        seconds=time.monotonic() - started,
    )


if __name__ == "__main__":
    main()
