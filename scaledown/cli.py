"""The ``scaledown`` command line.

scaledown targets                          the hardware catalogue
scaledown profile MODEL --target nano33ble  profile a .tflite, .onnx or .keras file
scaledown deploy MODEL --target pi --out DIR package a model for a board
scaledown compile MODEL.tflite --out DIR     compile an int8 model to C, build it for a Cortex-M4 or wasm32
scaledown emulate DIR --input x.npy --output y.npy   run the build in the emulator (--wasm: wasmtime)
scaledown doctor                           check the installation, name what is missing
scaledown progress                         where you stand across all labs
scaledown labs build                       regenerate the learners' labs from the solutions
scaledown labs grade PATH...               run learners' lab notebooks and print a grade table
scaledown fleet broker|simulate|gateway    the simulated fleet over MQTT (see scaledown.operate.fleet.cli)
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys


def _targets(args) -> int:
    from scaledown.foundations import hardware

    print(hardware.targets_table())
    return 0


def _profile(args) -> int:
    from scaledown.foundations import hardware

    path = pathlib.Path(args.model)
    model = path
    if path.suffix == ".keras":
        import keras

        model = keras.models.load_model(path)
    report = hardware.profile(model, target=args.target)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def _labs_build(args) -> int:
    from scaledown.labs import make_student_notebook

    root = pathlib.Path(args.root)
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        print(f"No solution notebooks in {root / 'solutions'}.", file=sys.stderr)
        return 1
    for solution in solutions:
        student = make_student_notebook(json.loads(solution.read_text()))
        target = root / solution.name
        target.write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {target}")
    return 0


def _labs_grade(args) -> int:
    from scaledown.labs.grading import grade, grade_table, notebooks_in

    if args.timeout <= 0:
        raise ValueError(f"--timeout must be a positive number of seconds, not {args.timeout}.")
    notebooks = notebooks_in(args.paths)
    if not notebooks:
        raise FileNotFoundError(
            f"no .ipynb files in {', '.join(args.paths)}: give lab notebooks or folders that hold them."
        )
    results = grade(
        notebooks,
        time_limit=args.timeout,
        quick=not args.full,
        progress=lambda path: print(f"grading {path} ...", file=sys.stderr, flush=True),
    )
    print(grade_table(results))
    return 0


def _progress(args) -> int:
    from scaledown.labs import progress_report

    print(progress_report())
    return 0


def _doctor(args) -> int:
    from scaledown.setup_check import run_all

    findings = run_all(end_to_end=not args.quick)
    return 1 if any(f.status == "fail" for f in findings) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scaledown", description="The ScaleDown course's tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("targets", help="list the hardware targets").set_defaults(run=_targets)
    p = sub.add_parser("profile", help="profile a model file against a target")
    p.add_argument("model", help="a .tflite, .onnx or .keras file")
    p.add_argument("--target", default="nano33ble", help="a target id from `scaledown targets`")
    p.add_argument("--json", action="store_true", help="print the profile as JSON")
    p.set_defaults(run=_profile)
    d = sub.add_parser("doctor", help="check your installation and say what is missing")
    d.add_argument("--quick", action="store_true", help="skip the tiny train-quantize-run check")
    d.set_defaults(run=_doctor)
    sub.add_parser("progress", help="show which labs you have completed").set_defaults(run=_progress)
    from scaledown.deploy.cli import add_deploy_parser

    add_deploy_parser(sub)
    from scaledown.deploy.compiler.cli import add_parsers as add_compiler_parsers

    add_compiler_parsers(sub)
    labs = sub.add_parser("labs", help="lab tools").add_subparsers(dest="labs_command", required=True)
    b = labs.add_parser("build", help="write labs/NAME.ipynb from labs/solutions/NAME.ipynb")
    b.add_argument("--root", default="labs", help="the labs folder (default: labs)")
    b.set_defaults(run=_labs_build)
    g = labs.add_parser(
        "grade", help="run learners' lab notebooks in strict quick mode and print a table of their checks"
    )
    g.add_argument("paths", nargs="+", help="lab notebooks (.ipynb) or folders of them")
    g.add_argument("--timeout", type=float, default=600, help="seconds each notebook may run (default: 600)")
    g.add_argument(
        "--full", action="store_true", help="run in full mode (the labs' full data and epochs) instead of quick"
    )
    g.set_defaults(run=_labs_grade)
    from scaledown.operate.fleet import cli as fleet_cli

    fleet_cli.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, ConnectionError) as exc:
        print(f"scaledown: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
