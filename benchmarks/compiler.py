"""The model compiler on the course's models: arena, flash, instructions, and bit-exactness (not a timed test).

For the digits MobileNet v1 (width 1.0, trained briefly on the digits), the IMU Conv1D
model (trained briefly on BasicMotions) and chapter 5's search result (rebuilt from
``benchmarks/results/nas.json``, trained briefly on the digits), each converted to int8:

1. memory: TensorFlow Lite Micro's smallest arena (bisection) vs the compiler's vs the
   lower bound; flash of the Cortex-M4 ELF vs the int8 weight bytes (<= weights + 16 KiB?);
2. speed: instructions per inference and per MAC on the emulated Cortex-M4 (plain C, and
   apart with the DSP instructions, checked on the first 200 inputs), fuel per inference in wasmtime;
3. correctness: mismatching outputs against the TFLite Micro interpreter (``run_tflm``) on
   N real inputs (full 1,000, quick 100), on the emulated Cortex-M4 and in wasmtime;
4. the command line: seconds for ``scaledown compile`` + ``scaledown emulate`` of the digits
   model on 100 inputs.

    .venv/bin/python benchmarks/compiler.py                      # full mode
    SCALEDOWN_QUICK=1 .venv/bin/python benchmarks/compiler.py    # quick mode

A full-mode run writes ``benchmarks/results/compiler.json``.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import _results
import numpy as np

import scaledown
from scaledown.compress.quantization.tensorflow import ptq_tflite
from scaledown.deploy.compiler import compile_model, read_tflite
from scaledown.deploy.compiler.cortex_m4 import CortexM4, build_cortex_m4
from scaledown.deploy.compiler.elf_size import elf_size
from scaledown.deploy.compiler.report import op_macs, weight_bytes
from scaledown.deploy.compiler.wasm import WasmModel, build_wasm
from scaledown.deploy.micro import measure_arena, run_tflm
from scaledown.foundations import datasets, models, training

ROOT = Path(__file__).resolve().parents[1]
FLASH_SLACK_BYTES = 16 * 1024
EPOCHS = {  # brief training: realistic activations, not accuracy
    "digits": lambda: scaledown.pick(full=5, quick=1),
    "gesture": lambda: scaledown.pick(full=30, quick=3),
    "search_result": lambda: scaledown.pick(full=2, quick=1),
}


def _quantize(x, content):
    """Float inputs -> int8 with the .tflite's input scale and zero point."""
    from scaledown.deploy.package import tflite_spec

    q = tflite_spec(content)["inputs"][0]["quantization"]
    return np.clip(np.round(x / q["scale"][0]) + q["zero_point"][0], -128, 127).astype(np.int8)


def digits_model(n_inputs):
    """MobileNet v1 (width 1.0) trained briefly on the digits; int8 inputs from every digit image."""
    x_train, y_train, x_test, _ = datasets.load_digits(limit=scaledown.pick(full=None, quick=300))
    model = models.baseline("keras")
    training.train_keras(model, x_train, y_train, epochs=EPOCHS["digits"]())
    content = ptq_tflite(model, x_train, num_samples=300)
    return content, _quantize(np.concatenate([x_test, x_train])[:n_inputs], content)


def gesture_model(n_inputs):
    """The IMU Conv1D classifier of tests/test_deploy_micro.py, trained briefly on BasicMotions; int8 inputs
    from the 80 recordings, then the same recordings with noise (0.3 std) until there are ``n_inputs``."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_deploy_micro import gesture_model as build

    x_train, y_train, x_test, _ = datasets.load_motions()
    mean, std = x_train.mean(axis=(0, 1)), x_train.std(axis=(0, 1))
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    model = build()
    training.train_keras(model, x_train, y_train, epochs=EPOCHS["gesture"](), batch_size=8)
    content = ptq_tflite(model, x_train, num_samples=len(x_train))
    recordings = np.concatenate([x_test, x_train])
    rng = np.random.default_rng(0)
    extra = recordings[rng.integers(0, len(recordings), max(0, n_inputs - len(recordings)))]
    x = np.concatenate([recordings, extra + rng.normal(0, 0.3, extra.shape).astype(np.float32)])[:n_inputs]
    return content, _quantize(x, content)


def search_result_model(n_inputs):
    """Chapter 5's search result (benchmarks/results/nas.json, "found"), trained briefly on the digits."""
    from scaledown.compress.nas.space import KNOBS, Candidate
    from scaledown.foundations.models import build

    found = json.loads((ROOT / "benchmarks" / "results" / "nas.json").read_text())["results"]["found"]
    candidate = Candidate(**{knob: found[knob] for knob in KNOBS if found.get(knob) is not None})
    x_train, y_train, x_test, _ = datasets.load_digits(
        size=candidate.resolution, limit=scaledown.pick(full=None, quick=300)
    )
    model = build(candidate.spec(), "keras")
    training.train_keras(model, x_train, y_train, epochs=EPOCHS["search_result"]())
    content = ptq_tflite(model, x_train, num_samples=300)
    return content, _quantize(np.concatenate([x_test, x_train])[:n_inputs], content), found["label"]


def measure(label, content, x, folder):
    """Every figure of one model (see the module's docstring)."""
    started = time.monotonic()
    tflm_arena = measure_arena(content).minimum_bytes
    stages = {"tflm_arena_s": time.monotonic() - started}
    compiled = compile_model(content, folder / "src")
    elf = build_cortex_m4(folder / "src", folder / "build")
    chip = CortexM4(elf)
    profile = chip.profile(x[0])
    size = elf_size(elf, profile.peak_stack_bytes)
    stages["compile_build_profile_s"] = time.monotonic() - started - sum(stages.values())
    reference = run_tflm(content, x).reshape(len(x), -1)
    stages["tflm_s"] = time.monotonic() - started - sum(stages.values())
    m4 = chip.run(x).reshape(len(x), -1)
    stages["cortex_m4_s"] = time.monotonic() - started - sum(stages.values())
    wasm = WasmModel(build_wasm(folder / "src", folder / "build"))
    in_wasm = wasm.run(x).reshape(len(x), -1)
    stages["wasm_s"] = time.monotonic() - started - sum(stages.values())
    dsp_chip = CortexM4(build_cortex_m4(folder / "src", folder / "build_dsp", dsp=True))
    dsp_profile = dsp_chip.profile(x[0])
    n_dsp = min(len(x), scaledown.pick(full=200, quick=20))
    dsp_out = dsp_chip.run(x[:n_dsp]).reshape(n_dsp, -1)
    stages["dsp_s"] = time.monotonic() - started - sum(stages.values())
    graph = read_tflite(content)
    graph_macs, weights = op_macs(graph), weight_bytes(graph)
    macs = sum(graph_macs.values())
    return {
        "label": label,
        "macs": macs,
        "inputs": len(x),
        "arena": {
            "tflm_minimum_bytes": tflm_arena,
            "ours_bytes": compiled.plan.arena_bytes,
            "lower_bound_bytes": compiled.plan.lower_bound_bytes,
            "ours_percent_of_tflm": round(100 * compiled.plan.arena_bytes / tflm_arena, 1),
        },
        "flash_bytes": size.flash_bytes,
        "ram_bytes": size.ram_bytes,
        "peak_stack_bytes": size.peak_stack_bytes,
        "int8_weight_bytes": weights["int8"],
        "constant_bytes": weights["all"],
        "flash_over_weights_bytes": size.flash_bytes - weights["int8"],
        "flash_within_weights_plus_16k": size.flash_bytes <= weights["int8"] + FLASH_SLACK_BYTES,
        "instructions": profile.instructions,
        "instructions_per_mac": round(profile.instructions / macs, 2),
        "per_op": [
            {"name": name, "macs": graph_macs[int(name.split("#")[1])], "instructions": count}
            for name, count in zip(compiled.ops, profile.per_op)
        ],
        "dsp": {  # the same C with SD_USE_DSP: SXTB16 + SMLAD in the convolutions' inner loops
            "instructions": dsp_profile.instructions,
            "instructions_per_mac": round(dsp_profile.instructions / macs, 2),
            "inputs": n_dsp,
            "mismatches": int(np.count_nonzero(np.any(dsp_out != reference[:n_dsp], axis=1))),
        },
        "wasm_fuel": wasm.instructions,
        "wasm_fuel_per_mac": round(wasm.instructions / macs, 2),
        "mismatches_cortex_m4": int(np.count_nonzero(np.any(m4 != reference, axis=1))),
        "mismatches_wasm": int(np.count_nonzero(np.any(in_wasm != reference, axis=1))),
        "seconds": round(time.monotonic() - started, 1),
        "stage_seconds": {name: round(value, 1) for name, value in stages.items()},
    }


def cli_round_trip(content, x, folder):
    """Seconds of `scaledown compile` (without TFLite Micro's arena bisection) + `scaledown emulate` on ``x``."""
    from scaledown import cli

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "digits.tflite").write_bytes(content)
    np.save(folder / "x.npy", x)
    started = time.monotonic()
    assert cli.main(["compile", str(folder / "digits.tflite"), "--out", str(folder / "build"), "--no-tflm"]) == 0
    compiled = time.monotonic()
    assert (
        cli.main(
            ["emulate", str(folder / "build"), "--input", str(folder / "x.npy"), "--output", str(folder / "y.npy")]
        )
        == 0
    )
    done = time.monotonic()
    mismatches = int(
        np.count_nonzero(
            np.any(np.load(folder / "y.npy").reshape(len(x), -1) != run_tflm(content, x).reshape(len(x), -1), axis=1)
        )
    )
    return {
        "compile_s": round(compiled - started, 1),
        "emulate_s": round(done - compiled, 1),
        "total_s": round(done - started, 1),
        "inputs": len(x),
        "mismatches": mismatches,
    }


def _compiler_commit() -> str:
    """The commit the compiler's files were measured at ("+ local changes" if they differed from it)."""
    import subprocess

    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + local changes" if git("status", "--porcelain", "scaledown/deploy/compiler") else "")


def summarize(results, n_inputs):
    """Print the tables and add the targets' checks and the settings to ``results``."""
    print("\n## Arena (bytes): TFLite Micro's smallest vs ours vs the lower bound")
    print("| model | TFLite Micro | ours | ours / TFLM | lower bound |\n|---|---:|---:|---:|---:|")
    for key in ("digits", "gesture", "search_result"):
        r, a = results[key], results[key]["arena"]
        print(
            f"| {r['label']} | {a['tflm_minimum_bytes']:,} | {a['ours_bytes']:,} | {a['ours_percent_of_tflm']}% | {a['lower_bound_bytes']:,} |"
        )
    print("\n## Flash (bytes) vs int8 weights, on the emulated Cortex-M4")
    print(
        "| model | flash | int8 weights | flash - weights | <= weights + 16 KiB | RAM (with stack) |\n|---|---:|---:|---:|---|---:|"
    )
    for key in ("digits", "gesture", "search_result"):
        r = results[key]
        print(
            f"| {r['label']} | {r['flash_bytes']:,} | {r['int8_weight_bytes']:,} | {r['flash_over_weights_bytes']:,} | {r['flash_within_weights_plus_16k']} | {r['ram_bytes']:,} |"
        )
    print("\n## Instructions per inference (emulated Cortex-M4) and wasm fuel")
    print("| model | MACs | instructions | per MAC | wasm fuel | fuel per MAC |\n|---|---:|---:|---:|---:|---:|")
    for key in ("digits", "gesture", "search_result"):
        r = results[key]
        print(
            f"| {r['label']} | {r['macs']:,} | {r['instructions']:,} | {r['instructions_per_mac']} | {r['wasm_fuel']:,} | {r['wasm_fuel_per_mac']} |"
        )
    print("\n## With the Cortex-M4's DSP instructions (SXTB16 + SMLAD), reported apart")
    print("| model | instructions | per MAC | mismatches |\n|---|---:|---:|---:|")
    for key in ("digits", "gesture", "search_result"):
        r, d = results[key], results[key]["dsp"]
        print(
            f"| {r['label']} | {d['instructions']:,} | {d['instructions_per_mac']} | {d['mismatches']} of {d['inputs']} |"
        )
    print(f"\n## Mismatches vs the TFLite Micro interpreter ({n_inputs} real inputs per model)")
    print("| model | Cortex-M4 | wasmtime |\n|---|---:|---:|")
    for key in ("digits", "gesture", "search_result"):
        r = results[key]
        print(f"| {r['label']} | {r['mismatches_cortex_m4']} mismatches | {r['mismatches_wasm']} mismatches |")
    c = results["cli"]
    print(
        f"\n## Command line: scaledown compile + emulate of the digits model on {c['inputs']} inputs: "
        f"{c['total_s']} s (compile {c['compile_s']} s, emulate {c['emulate_s']} s), {c['mismatches']} mismatches"
    )
    keys = ("digits", "gesture", "search_result")
    digits = results["digits"]
    results["targets"] = {
        "mismatches_total": sum(
            results[k]["mismatches_cortex_m4"] + results[k]["mismatches_wasm"] + results[k]["dsp"]["mismatches"]
            for k in keys
        ),
        "digits_arena_at_most_half_of_tflm": digits["arena"]["ours_bytes"] <= digits["arena"]["tflm_minimum_bytes"] / 2,
        "arena_never_larger_than_tflm": all(
            results[k]["arena"]["ours_bytes"] <= results[k]["arena"]["tflm_minimum_bytes"] for k in keys
        ),
        "digits_flash_within_weights_plus_16k": digits["flash_within_weights_plus_16k"],
        "digits_at_most_4_instructions_per_mac": digits["instructions_per_mac"] <= 4,
        "cli_under_60_s": c["total_s"] < 60,
    }
    results["settings"] = {
        "inputs_per_model": n_inputs,
        "epochs": {name: epochs() for name, epochs in EPOCHS.items()},
        "compiler_commit": results.pop("compiler_commit", None) or _compiler_commit(),
    }
    print("\n## Targets")
    for name, value in results["targets"].items():
        print(f"{name}: {value}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--inputs", type=int, default=None, help="inputs per model (default: 1,000 in full mode, 100 in quick mode)"
    )
    _results.add_option(parser)
    args = parser.parse_args(argv)
    if args.inputs is not None and args.inputs < 1:
        parser.error(f"--inputs {args.inputs}: use a positive number")
    started = time.monotonic()
    n_inputs = args.inputs or scaledown.pick(full=1000, quick=100)
    print("quick mode:", scaledown.quick_mode(), f"| {n_inputs} inputs per model")
    results = {"compiler_commit": _compiler_commit()}  # at the start: the C is compiled from these files
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        digits_content, digits_x = digits_model(n_inputs)
        gesture_content, gesture_x = gesture_model(n_inputs)
        search_content, search_x, search_label = search_result_model(n_inputs)
        for key, label, content, x in (
            ("digits", "digits MobileNet v1 1.0", digits_content, digits_x),
            ("gesture", "IMU Conv1D", gesture_content, gesture_x),
            ("search_result", f"chapter 5 search ({search_label})", search_content, search_x),
        ):
            results[key] = measure(label, content, x, folder / key)
            print(f"measured {label} in {results[key]['seconds']} s: {results[key]['stage_seconds']}", flush=True)
        results["cli"] = cli_round_trip(digits_content, digits_x[:100], folder / "cli")

    summarize(results, n_inputs)
    _results.save(
        "compiler", results, path=args.results, quick=scaledown.quick_mode(), seconds=time.monotonic() - started
    )


if __name__ == "__main__":
    main()
