"""Quantization benchmark: the chapter-1 baseline on digits, float32 vs int8 PTQ vs int8 QAT, on three runtimes.

    python benchmarks/quantization.py            # full mode: 30 epochs, ~97% float accuracy
    python benchmarks/quantization.py --quick    # a smoke run (or SCALEDOWN_QUICK=1)

Trains the baseline (MobileNet v1, width 1.0) in Keras and in PyTorch with
cosine-decayed Adam (lr 3e-3, batch 32), then for each backend builds the
float32 artefact, the post-training-quantized one and the quantization-aware-
trained one, and prints accuracy on the test set, bytes on disk and the median
single-thread latency of one sample:

* TFLite: float converter / converter PTQ / tfmot QAT; LiteRT (and TFLite Micro accuracy).
* ONNX Runtime: float export / ORT static PTQ (QDQ, per channel) / scaledown QAT → QDQ ONNX.
* OpenVINO: float IR / NNCF PTQ / the scaledown QAT QDQ ONNX converted to an IR.

The course's goals (the table's last column): int8 files ≤ 27% of the float32 bytes; PTQ accuracy within
1.0 point of float32 and QAT within 0.3 points, on every backend.

Beside the bytes on disk, the table gives the bytes of the weights alone
(``size_breakdown``: constant tensors with two or more dimensions). A last
table shows where the bytes go as the same architecture grows (width 0.5 to 8,
untrained weights with random batch-norm parameters: converters store identical
constants once, and an untrained model's folded biases are all identical zeros),
PTQ on each backend.
"""

import argparse
import os
import sys
import time

import _results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import scaledown  # noqa: E402
from scaledown.compress.quantization import layer_sensitivity, quantize, size_breakdown  # noqa: E402
from scaledown.foundations.datasets import load_digits  # noqa: E402
from scaledown.foundations.models import baseline, mobilenet_v1, randomize_batchnorm  # noqa: E402
from scaledown.foundations.training import accuracy, predict_torch, train_keras, train_torch  # noqa: E402

SIZE_TARGET, PTQ_TARGET, QAT_TARGET = 0.27, 1.0, 0.3
WIDTHS = (0.5, 1, 2, 8)  # the size-scaling table; every width in quick mode too, so the results keep one shape
VARIANTS = {"none": "fp32", "ptq": "ptq", "qat": "qat"}  # method → key in the results file


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs on 300 images (also SCALEDOWN_QUICK=1)")
    _results.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["SCALEDOWN_QUICK"] = "1"
    epochs, qat_epochs = scaledown.pick(full=30, quick=2), scaledown.pick(full=5, quick=1)
    limit, repeats = scaledown.pick(full=None, quick=300), scaledown.pick(full=500, quick=50)
    import torch

    torch.set_num_threads(1)
    rows, started = [], time.time()

    x_train, y_train, x_test, y_test = load_digits(layout="NHWC", limit=limit)
    keras_model = baseline("keras")
    train_keras(keras_model, x_train, y_train, epochs=epochs)
    float_accuracy = {"keras": accuracy(keras_model.predict(x_test, verbose=0), y_test)}
    print(f"Keras float accuracy {float_accuracy['keras']:.4f} ({time.time() - started:.0f} s)", flush=True)
    for method in ("none", "ptq", "qat"):
        qmodel = quantize(keras_model, (x_train, y_train), method=method, epochs=qat_epochs)
        rows.append(_measure(qmodel, x_test, y_test, repeats, tflm=True))
        print(f"  tflite {method} done ({time.time() - started:.0f} s)", flush=True)

    x_train, y_train, x_test, y_test = load_digits(layout="NCHW", limit=limit)
    torch_model = baseline("torch")
    train_torch(torch_model, x_train, y_train, epochs=epochs, progress=False)
    float_accuracy["torch"] = accuracy(predict_torch(torch_model, x_test), y_test)
    print(f"PyTorch float accuracy {float_accuracy['torch']:.4f} ({time.time() - started:.0f} s)", flush=True)
    qat_onnx = None
    for backend in ("onnxruntime", "openvino"):
        for method in ("none", "ptq", "qat"):
            if backend == "openvino" and method == "qat":  # the same QAT model, converted: no second training
                from scaledown.compress.quantization.openvino import convert_openvino

                path = convert_openvino(qat_onnx.path, qat_onnx.path.with_suffix(".xml"))
                qmodel = scaledown.compress.quantization.QuantizedModel(path, "openvino", "qat", "NCHW")
            else:
                qmodel = quantize(torch_model, (x_train, y_train), method=method, backend=backend, epochs=qat_epochs)
            qat_onnx = qmodel if (backend, method) == ("onnxruntime", "qat") else qat_onnx
            rows.append(_measure(qmodel, x_test, y_test, repeats))
            print(f"  {backend} {method} done ({time.time() - started:.0f} s)", flush=True)

    _print_table(rows)
    sensitivity = _print_sensitivity(torch_model, x_test, y_test)
    scaling = _print_scaling(load_digits(layout="NHWC", limit=64)[0], x_train[:64], WIDTHS)
    elapsed = time.time() - started
    print(f"\ntotal {elapsed:.0f} s, mode: {'quick' if scaledown.quick_mode() else 'full'}")
    results = {
        "test_images": len(y_test),
        "epochs": epochs,
        "qat_epochs": qat_epochs,
        "latency_repeats": repeats,
        "float_accuracy": float_accuracy,
        **_table_results(rows),
        "sensitivity": sensitivity,
        "scaling": scaling,
    }
    _results.save("quantization", results, path=args.results, quick=scaledown.quick_mode(), seconds=elapsed)


def _measure(qmodel, x, y, repeats, tflm=False):
    row = {
        "backend": qmodel.backend,
        "method": qmodel.method,
        "accuracy": qmodel.evaluate(x, y),
        "bytes": qmodel.size_bytes,
        "weight_bytes": size_breakdown(qmodel.path)["weights"],
        "latency_ms": qmodel.latency_ms(x[:1], repeats=repeats),
    }
    if tflm:
        row["tflm_accuracy"] = qmodel.evaluate(x, y, runtime="tflm")
    return row


def _table_results(rows):
    """``{backend: {fp32|ptq|qat: figures}}`` and a ``summary`` over the int8 rows, as the results file holds them.

    Shares are fractions of the same backend's float32 file; ``drop_points`` is float minus int8
    accuracy in percentage points (negative: int8 gained).
    """
    tree, fp32 = {}, {}
    for row in rows:
        if row["method"] == "none":
            fp32 = row
        entry = {
            "accuracy": row["accuracy"],
            "drop_points": 100 * (fp32["accuracy"] - row["accuracy"]),
            "bytes": row["bytes"],
            "share_of_fp32": row["bytes"] / fp32["bytes"],
            "weight_bytes": row["weight_bytes"],
            "weight_share_of_fp32": row["weight_bytes"] / fp32["weight_bytes"],
            "latency_us": 1000 * row["latency_ms"],
        }
        if "tflm_accuracy" in row:
            entry["tflm_accuracy"] = row["tflm_accuracy"]
        tree.setdefault(row["backend"], {})[VARIANTS[row["method"]]] = entry
    int8 = [entry for backend in tree.values() for name, entry in backend.items() if name != "fp32"]
    drops = {name: [backend[name]["drop_points"] for backend in tree.values()] for name in ("ptq", "qat")}
    summary = {
        "int8_share_min": min(e["share_of_fp32"] for e in int8),
        "int8_share_max": max(e["share_of_fp32"] for e in int8),
        "int8_weight_share_min": min(e["weight_share_of_fp32"] for e in int8),
        "int8_weight_share_max": max(e["weight_share_of_fp32"] for e in int8),
        "ptq_drop_max_points": max(drops["ptq"]),
        "qat_drop_max_points": max(drops["qat"]),
    }
    return {**tree, "summary": summary}


def _print_table(rows):
    names = {"none": "fp32", "ptq": "int8 PTQ", "qat": "int8 QAT"}
    print(
        "\n| backend | variant | accuracy | Δ vs fp32 (points) | bytes | % of fp32 | weight bytes | % of fp32 "
        "| latency (µs, 1 thread) | targets |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    baseline_row = {}
    for row in rows:
        if row["method"] == "none":
            baseline_row = row
        drop = 100 * (baseline_row["accuracy"] - row["accuracy"])
        share = row["bytes"] / baseline_row["bytes"]
        if row["method"] == "none":
            verdict = ""
        else:
            limit = PTQ_TARGET if row["method"] == "ptq" else QAT_TARGET
            verdict = (
                f"accuracy {'met' if drop <= limit else 'MISSED'} (≤ {limit}), "
                f"size {'met' if share <= SIZE_TARGET else 'MISSED'} (≤ 27%)"
            )
        tflm = f" (TFLM {100 * row['tflm_accuracy']:.2f}%)" if "tflm_accuracy" in row else ""
        print(
            f"| {row['backend']} | {names[row['method']]} | {100 * row['accuracy']:.2f}%{tflm} | {drop:+.2f} | "
            f"{row['bytes']:,} | {100 * share:.0f}% | {row['weight_bytes']:,} | "
            f"{100 * row['weight_bytes'] / baseline_row['weight_bytes']:.1f}% | {1000 * row['latency_ms']:.0f} | {verdict} |"
        )


def _print_sensitivity(model, x, y):
    print("\nPer-layer sensitivity (PyTorch model, BN folded, int8 weights of one layer at a time):")
    per_tensor = layer_sensitivity(model, x, y, per_channel=False)
    per_channel = layer_sensitivity(model, x, y, per_channel=True)
    print("| layer | kind | weight SQNR per-tensor (dB) | per-channel (dB) | accuracy drop per-tensor (points) |")
    print("|---|---|---|---|---|")
    for tensor_row, channel_row in zip(per_tensor, per_channel):
        print(
            f"| {tensor_row['layer']} | {tensor_row['kind']} | {tensor_row['weight_sqnr_db']:.1f} | "
            f"{channel_row['weight_sqnr_db']:.1f} | {tensor_row['accuracy_drop']:+.2f} |"
        )
    layers = [
        {
            "layer": t["layer"],
            "kind": t["kind"],
            "sqnr_per_tensor_db": t["weight_sqnr_db"],
            "sqnr_per_channel_db": c["weight_sqnr_db"],
            "drop_points_per_tensor": t["accuracy_drop"],
        }
        for t, c in zip(per_tensor, per_channel)
    ]
    gains = [row["sqnr_per_channel_db"] - row["sqnr_per_tensor_db"] for row in layers if row["kind"] == "depthwise"]
    lowest = min(layers, key=lambda row: row["sqnr_per_tensor_db"])
    worst = max(layers, key=lambda row: row["drop_points_per_tensor"])
    return {
        "layers": layers,
        "per_tensor_db_min": lowest["sqnr_per_tensor_db"],
        "per_tensor_db_min_layer": lowest["layer"],
        "per_tensor_db_max": max(row["sqnr_per_tensor_db"] for row in layers),
        "per_channel_db_min": min(row["sqnr_per_channel_db"] for row in layers),
        "per_channel_db_max": max(row["sqnr_per_channel_db"] for row in layers),
        "depthwise_gain_db_min": min(gains),
        "depthwise_gain_db_max": max(gains),
        "worst_layer": worst["layer"],
        "worst_kind": worst["kind"],
        "worst_drop_points": worst["drop_points_per_tensor"],
        "layers_that_lost": sum(row["drop_points_per_tensor"] > 0 for row in layers),
        "layers_that_gained": sum(row["drop_points_per_tensor"] < 0 for row in layers),
    }


def _print_scaling(x_nhwc, x_nchw, widths):
    """int8 PTQ bytes as a share of float32 bytes as MobileNet v1 (this course's spec) grows; untrained weights.

    Returns ``{"w0_5": {"width", "parameters", backend: {fp32_bytes, int8_bytes, share, weight_share}}, ...}``
    (a width's dot becomes ``_``: the book quotes these by dotted path).
    """
    scaling = {}
    print(
        "\nSize of int8 PTQ vs float32 as the model grows (MobileNet v1 spec, untrained with random BN, "
        "64 calibration images):"
    )
    print(
        "| width | parameters | backend | fp32 bytes | int8 bytes | % of fp32 | weights % | other constants | graph |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for width in widths:
        keras_model = randomize_batchnorm(mobilenet_v1(width=width))  # no identical constants, as when trained
        torch_model = randomize_batchnorm(mobilenet_v1(width=width, framework="torch")).eval()
        parameters = sum(p.numel() for p in torch_model.parameters())
        entry = scaling[f"w{width}".replace(".", "_")] = {"width": width, "parameters": parameters}
        for backend in ("tflite", "onnxruntime", "openvino"):
            model, x = (keras_model, x_nhwc) if backend == "tflite" else (torch_model, x_nchw)
            options = {} if backend == "tflite" else {"backend": backend}
            fp32, int8 = (size_breakdown(quantize(model, (x,), method=m, **options).path) for m in ("none", "ptq"))
            verdict = "met" if int8["file"] <= SIZE_TARGET * fp32["file"] else "MISSED"
            print(
                f"| {width} | {parameters:,} | {backend} | {fp32['file']:,} | {int8['file']:,} | "
                f"{100 * int8['file'] / fp32['file']:.1f}% ({verdict}) | {100 * int8['weights'] / fp32['weights']:.1f}% | "
                f"{int8['other_constants']:,} | {int8['graph']:,} |",
                flush=True,
            )
            entry[backend] = {
                "fp32_bytes": fp32["file"],
                "int8_bytes": int8["file"],
                "share": int8["file"] / fp32["file"],
                "weight_share": int8["weights"] / fp32["weights"],
                "int8_other_constants": int8["other_constants"],
                "int8_graph": int8["graph"],
            }
    return scaling


if __name__ == "__main__":
    sys.exit(main())
