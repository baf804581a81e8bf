"""``scaledown compile`` and ``scaledown emulate``: the compiler on the command line.

    scaledown compile model.tflite --target cortex-m4 --out build/model
    scaledown emulate build/model --input x.npy --output y.npy            # the emulated Cortex-M4
    scaledown emulate build/model --input x.npy --output y.npy --wasm     # after --target wasm32

``compile`` writes the folder described in :mod:`scaledown.deploy.compiler.project` and prints
its report; ``emulate`` runs int8 inputs through the build and saves the int8 outputs.
"""

from __future__ import annotations

import json
import pathlib
import sys

from scaledown.deploy.compiler.project import REPORT, TARGETS


def add_parsers(subparsers) -> None:
    """Add ``compile`` and ``emulate`` to the ``scaledown`` command's subparsers."""
    c = subparsers.add_parser("compile", help="compile an int8 .tflite to C, build it for a chip, report its cost")
    c.add_argument("model", help="a full-int8 .tflite file")
    c.add_argument("--target", default="cortex-m4", help=f"one of {', '.join(TARGETS)} (default: cortex-m4)")
    c.add_argument("--out", default=None, help="the output folder (default: NAME-TARGET)")
    c.add_argument(
        "--no-tflm", action="store_true", help="skip measuring TensorFlow Lite Micro's smallest arena (a bisection)"
    )
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(run=run_compile)
    e = subparsers.add_parser("emulate", help="run int8 inputs through a compiled model in the emulator")
    e.add_argument("folder", help="a folder written by `scaledown compile`")
    e.add_argument("--input", required=True, help="a .npy of int8 inputs, (N, *input_shape) or one sample")
    e.add_argument("--output", required=True, help="the .npy to write the int8 outputs to")
    e.add_argument("--wasm", action="store_true", help="run the .wasm in wasmtime (compiled with --target wasm32)")
    e.set_defaults(run=run_emulate)


def _refuse(error) -> int:
    message = " ".join(str(error).split())
    print(f"scaledown: {message}", file=sys.stderr)
    return 1


def _read_model(path: pathlib.Path) -> bytes:
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r}: no such file; give an int8 .tflite file.")
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is a folder; give an int8 .tflite file.")
    if path.suffix.lower() != ".tflite":
        raise ValueError(
            f"{path.name} is not a .tflite file: `scaledown compile` takes a full-int8 .tflite "
            "(convert with scaledown.quantize or `scaledown deploy` first)."
        )
    return path.read_bytes()


def _check_out(out: pathlib.Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder path for the build.")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT).is_file():
        raise ValueError(
            f"--out {str(out)!r} is a folder that `scaledown compile` did not write, and it would be replaced; "
            "choose a new folder or empty it."
        )


def run_compile(args) -> int:
    from scaledown.deploy.compiler.cortex_m4 import EmulationError
    from scaledown.deploy.compiler.errors import CompileError
    from scaledown.deploy.compiler.project import build_project
    from scaledown.deploy.compiler.report import format_report
    from scaledown.deploy.compiler.toolchain import ToolchainError
    from scaledown.deploy.package import DeploymentRefused, staging

    path = pathlib.Path(args.model)
    if args.target not in TARGETS:
        raise ValueError(f"--target {args.target!r} is not a compiler target; use one of {', '.join(TARGETS)}.")
    content = _read_model(path)
    out = pathlib.Path(args.out or f"{path.stem}-{args.target}")
    _check_out(out)
    try:
        from scaledown.deploy.compiler import read_tflite

        read_tflite(content, path.name)  # a float model or an unsupported op: refused before any work
        tflm = None
        if not args.no_tflm:
            from scaledown.deploy.micro import measure_arena

            tflm = measure_arena(content).minimum_bytes
        with staging(out) as folder:
            report = build_project(content, folder, args.target, name=path.name, tflm_arena_bytes=tflm)
    except (CompileError, ToolchainError, EmulationError, DeploymentRefused) as error:
        return _refuse(error)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    print(f"wrote {out}")
    return 0


def load_inputs(path: pathlib.Path, report: dict):
    """The int8 inputs of ``path`` as (N, *input_shape) and whether it held one sample; one sentence otherwise."""
    import numpy as np

    shape = tuple(report["input"]["shape"][1:])
    expected = f"int8 of shape (N, {', '.join(map(str, shape))}) or {shape}"
    if not path.is_file():
        raise FileNotFoundError(f"--input {str(path)!r}: no such file; give a .npy of {expected}.")
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"--input {str(path)!r} is not a readable .npy array ({type(exc).__name__}); save {expected} "
            "with numpy.save."
        ) from None
    if x.dtype != np.int8:
        quantization = report["input"]
        raise ValueError(
            f"--input {path.name} holds {x.dtype}, the model takes {expected}: quantize float inputs as "
            f"round(x / {quantization['scale']:.6g}) + {quantization['zero_point']}, clipped to [-128, 127]."
        )
    if x.shape == shape:
        return x[None], True
    if x.shape[1:] != shape:
        raise ValueError(f"--input {path.name} has shape {x.shape}; the model takes {expected}.")
    return x, False


def run_emulate(args) -> int:
    import numpy as np

    from scaledown.deploy.compiler.cortex_m4 import EmulationError
    from scaledown.deploy.compiler.project import load_build

    report, build = load_build(args.folder, wasm=args.wasm)
    x, one_sample = load_inputs(pathlib.Path(args.input), report)
    output = pathlib.Path(args.output)
    if output.is_dir():
        raise ValueError(f"--output {str(output)!r} is a folder; give the path of a .npy file to write.")
    try:
        if args.wasm:
            from scaledown.deploy.compiler.wasm import run_wasm

            y = run_wasm(build, x)
        else:
            from scaledown.deploy.compiler.cortex_m4 import run_cortex_m4

            y = run_cortex_m4(build, x)
    except (EmulationError, RuntimeError) as error:
        return _refuse(error)
    y = y.reshape(len(x), *report["output_shape"][1:])
    if one_sample:
        y = y[0]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with open(partial, "wb") as handle:
        np.save(handle, y)
    partial.replace(output)
    where = "wasmtime" if args.wasm else "the emulated Cortex-M4"
    print(f"{len(x)} input(s) through {build.name} in {where}: outputs {y.shape} int8 written to {output}")
    return 0
