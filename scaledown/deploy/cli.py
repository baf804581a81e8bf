"""``scaledown deploy MODEL --target pi --out DIR``: the command line of ``create_deployment_package``."""

from __future__ import annotations

import pathlib
import sys


def add_deploy_parser(subparsers) -> None:
    """Add the ``deploy`` subcommand to the ``scaledown`` command's subparsers."""
    p = subparsers.add_parser("deploy", help="package a model for a board (Raspberry Pi or microcontroller)")
    p.add_argument("model", help="a .tflite or .onnx file (already int8), or a .keras file with --data")
    p.add_argument("--target", default="pi", help="a target id from `scaledown targets` (default: pi)")
    p.add_argument("--out", default=None, help="the package folder (default: NAME-TARGET)")
    p.add_argument("--name", default=None, help="the package's name (default: the model file's name)")
    p.add_argument(
        "--data",
        default=None,
        help="a .npy of representative inputs (N, ...) float32, for a float .keras model's int8 conversion",
    )
    p.set_defaults(run=run_deploy)


def load_data(path):
    """The array in a .npy file, or one sentence (ValueError); pickled objects are never loaded."""
    import numpy as np

    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"--data {str(path)!r}: no such file; give a .npy of example inputs (N, ...).")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"--data {str(path)!r} is not a readable .npy array ({type(exc).__name__}); save the "
            "inputs with numpy.save."
        ) from None


def run_deploy(args) -> int:
    from scaledown.deploy import DeploymentRefused, create_deployment_package

    path = pathlib.Path(args.model)
    name = args.name or "".join(c if c.isalnum() or c in "_-" else "_" for c in path.stem) or "model"
    if not name[0].isalpha():
        name = "model_" + name
    data = None
    if args.data:
        data = load_data(args.data)
    elif path.suffix.lower() == ".keras":
        raise ValueError(
            f"{path.name} is a float Keras model: give --data FILE.npy, a few hundred example inputs "
            "(float32, the model's input shape), to calibrate its int8 conversion."
        )
    try:
        package = create_deployment_package(path, target=args.target, out=args.out, representative_data=data, name=name)
    except DeploymentRefused as refusal:
        print(f"scaledown: refused: {refusal}", file=sys.stderr)
        return 1
    print(package)
    return 0
