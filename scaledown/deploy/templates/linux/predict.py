"""Run this package's model: LiteRT (or ONNX Runtime) and NumPy, nothing else.

    python predict.py INPUT.npy [...] [--output OUT.npy]   predict for arrays (N, ...) of raw inputs
    python predict.py --self-test                          check the stored sample outputs
    python predict.py --watch INBOX --results OUTBOX       the service: predict every .npy dropped in INBOX
                                                           (a file it cannot use goes to INBOX/../rejected)
    python predict.py --benchmark 200                      median milliseconds per inference

Everything the program needs to know about the model is in manifest.json:
the file, its sha256, the input and output tensors with their int8 scale and
zero point, and the preprocessing of raw inputs. Import it to use it in code:

    from predict import Model
    scores = Model().predict(raw_inputs)      # float32 (N, outputs)
"""
import argparse
import hashlib
import json
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


class Model:
    """The packaged model on this device's runtime; ``predict`` takes raw inputs, returns float outputs."""

    def __init__(self, folder=HERE, num_threads=None):
        self.folder = pathlib.Path(folder)
        self.manifest = json.loads((self.folder / "manifest.json").read_text())
        model_file = self.folder / self.manifest["model"]["file"]
        content = model_file.read_bytes()
        if hashlib.sha256(content).hexdigest() != self.manifest["model"]["sha256"]:
            raise RuntimeError(f"{model_file} does not match the sha256 in manifest.json: the package is damaged.")
        self.input, self.output = self.manifest["inputs"][0], self.manifest["outputs"][0]
        prep = self.manifest["preprocessing"]
        self._multiply = np.asarray(prep["multiply"], np.float32)
        self._add = np.asarray(prep["add"], np.float32)
        self._identity = bool(np.all(self._multiply == 1) and np.all(self._add == 0))
        # looked up once: predict() runs per sample, and on a small model these lookups cost as much as invoke()
        q_in, q_out = self.input["quantization"], self.output["quantization"]
        self._in_q = None
        if q_in:
            info = np.iinfo(self.input["dtype"])
            self._in_q = (q_in["scale"][0], q_in["zero_point"][0], info.min, info.max, np.dtype(self.input["dtype"]))
        self._out_q = (q_out["scale"][0], q_out["zero_point"][0]) if q_out else None
        self.runtime = self.manifest["runtime"]
        if self.runtime == "litert":
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError:  # older images ship the same interpreter as tflite_runtime
                from tflite_runtime.interpreter import Interpreter
            self._interpreter = Interpreter(model_content=content, num_threads=num_threads)
            self._interpreter.allocate_tensors()
            self._input_index = self._interpreter.get_input_details()[0]["index"]
            self._output_index = self._interpreter.get_output_details()[0]["index"]
        else:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            if num_threads:
                options.intra_op_num_threads = num_threads
            self._session = onnxruntime.InferenceSession(content, options, providers=["CPUExecutionProvider"])

    def preprocess(self, raw):
        """Raw inputs (N, ...) -> the float32 inputs the model was trained on: ``raw * multiply + add``."""
        raw = np.asarray(raw, np.float32)
        return raw if self._identity else raw * self._multiply + self._add

    def quantize(self, x):
        """Float32 inputs -> the input tensor's int8: ``q = clip(round(x / scale) + zero_point)``."""
        if self._in_q is None:
            return x.astype(np.float32)
        scale, zero_point, low, high, dtype = self._in_q
        return np.clip(np.round(x / scale) + zero_point, low, high).astype(dtype)

    def dequantize(self, q_out):
        """The output tensor's int8 -> float32: ``scale * (q - zero_point)``."""
        if self._out_q is None:
            return np.asarray(q_out, np.float32)
        scale, zero_point = self._out_q
        return scale * (q_out.astype(np.float32) - zero_point)

    def invoke(self, sample):
        """One model input (1, ...) already in the input tensor's dtype -> the raw output (1, ...)."""
        if self.runtime == "litert":
            self._interpreter.set_tensor(self._input_index, sample)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output_index)
        return self._session.run(None, {self.input["name"]: sample})[0]

    def check(self, raw):
        """``raw`` as float32 ``(N, ...)``, or :class:`BadInput` saying in one sentence what is wrong with it."""
        raw = np.asarray(raw)
        sample_shape = tuple(self.input["shape"][1:])
        if raw.dtype.kind not in "biuf":
            raise BadInput(f"the array holds {raw.dtype} values; raw inputs are numbers")
        if raw.shape == sample_shape:
            raw = raw[None]                                    # one sample without its batch axis
        if raw.ndim != len(sample_shape) + 1 or tuple(raw.shape[1:]) != sample_shape:
            raise BadInput(f"the array's shape is {raw.shape}; the model takes (N, {', '.join(map(str, sample_shape))})")
        if len(raw) == 0:
            raise BadInput("the array holds no samples")
        raw = raw.astype(np.float32)
        if not np.all(np.isfinite(raw)):
            raise BadInput("the array holds NaN or infinite values")
        return raw

    def predict(self, raw):
        """Float32 outputs (N, outputs) for raw inputs (N, ...), one inference per sample."""
        x = self.quantize(self.preprocess(self.check(raw)))
        if len(x) == 1:
            return self.dequantize(self.invoke(x))
        return np.concatenate([self.dequantize(self.invoke(x[i:i + 1])) for i in range(len(x))])

    def label(self, outputs):
        """Class names (or indices) of the arg-max of each output row."""
        names = self.manifest.get("class_names")
        return [names[i] if names else int(i) for i in np.argmax(outputs, axis=1)]


class BadInput(ValueError):
    """An input the model cannot take; the message says why in one sentence."""


def load_input(path):
    """The array in a .npy file, or :class:`BadInput` if the file is not one (pickles are never loaded)."""
    path = pathlib.Path(path)
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
    except OSError as exc:
        raise BadInput(f"{path.name} cannot be read ({exc.strerror})") from None
    if magic != b"\x93NUMPY":
        raise BadInput(f"{path.name} is not a .npy file (it does not start with the .npy header)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise BadInput(f"{path.name} holds Python objects, which this program never unpickles") from None
        raise BadInput(f"{path.name} is a damaged .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise BadInput(f"{path.name} is a damaged or truncated .npy file ({type(exc).__name__})") from None


def self_test(model):
    """Compare the stored sample inputs' outputs with those recorded when the package was built."""
    inputs = np.load(model.folder / "samples" / "inputs.npy")
    expected = np.load(model.folder / "samples" / "expected_outputs.npy")
    got = model.predict(inputs)
    tolerance = model.manifest["self_test_tolerance"]
    worst = float(np.max(np.abs(got - expected)))
    ok = worst <= tolerance
    print(f"self-test: {len(inputs)} samples, largest difference {worst:.6g} (tolerance {tolerance:.6g}): "
          + ("OK" if ok else "FAILED"))
    return ok


def watch(model, inbox, outbox, poll_s=0.5, once=False, rejected=None):
    """The service loop: for each INBOX/*.npy, write OUTBOX/NAME.json with the outputs and labels, then delete it.

    A file the model cannot use (not a .npy array, wrong shape or type, NaN, or one the
    runtime fails on) is moved to ``rejected`` (default: a ``rejected`` folder beside
    INBOX) with a ``NAME.reason.txt`` beside it, and the loop goes on: one bad file must
    not stop the service or, restarted by systemd, stop it again on the same file.
    Producers should write ``.name.npy`` (hidden) and rename it when complete: hidden
    files are skipped.
    """
    inbox, outbox = pathlib.Path(inbox), pathlib.Path(outbox)
    rejected = pathlib.Path(rejected) if rejected else inbox.parent / "rejected"
    for folder in (inbox, outbox, rejected):
        folder.mkdir(parents=True, exist_ok=True)
    while True:
        for path in sorted(p for p in inbox.glob("*.npy") if not p.name.startswith(".")):
            try:
                outputs = model.predict(load_input(path))
            except Exception as exc:  # noqa: BLE001 - whatever the file does, the service goes on
                reason = str(exc) if isinstance(exc, BadInput) else f"the runtime failed on it ({type(exc).__name__}: {exc})"
                path.replace(rejected / path.name)
                (rejected / f"{path.stem}.reason.txt").write_text(reason + "\n")
                print(f"{path.name}: rejected, {reason}", flush=True)
                continue
            result = {"input": path.name, "outputs": outputs.tolist(), "labels": model.label(outputs),
                      "time": time.time()}
            tmp = outbox / f".{path.stem}.json.tmp"
            tmp.write_text(json.dumps(result))
            tmp.replace(outbox / f"{path.stem}.json")
            path.unlink()
            print(f"{path.name}: {result['labels']}", flush=True)
        if once:
            return
        time.sleep(poll_s)


def benchmark(model, repeats, warmup=20):
    """Median milliseconds of ``predict`` on one stored sample."""
    sample = np.load(model.folder / "samples" / "inputs.npy")[:1]
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        model.predict(sample)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", help=".npy files of raw inputs, shape (N, ...)")
    parser.add_argument("--output", help="save the outputs of the (single) input file here (.npy)")
    parser.add_argument("--self-test", action="store_true", help="check the stored sample outputs")
    parser.add_argument("--watch", metavar="INBOX", help="predict every .npy that appears in INBOX")
    parser.add_argument("--results", metavar="OUTBOX", default="results", help="where --watch writes results")
    parser.add_argument("--rejected", metavar="FOLDER", default=None,
                        help="with --watch: where unusable files go (default: INBOX/../rejected)")
    parser.add_argument("--once", action="store_true", help="with --watch: one pass, then exit")
    parser.add_argument("--benchmark", type=int, metavar="N", help="time N inferences")
    parser.add_argument("--threads", type=int, default=None, help="runtime threads (default: the runtime's)")
    args = parser.parse_args(argv)
    model = Model(num_threads=args.threads)
    if args.self_test:
        return 0 if self_test(model) else 1
    if args.watch:
        watch(model, args.watch, args.results, once=args.once, rejected=args.rejected)
        return 0
    if args.benchmark:
        print(f"{benchmark(model, args.benchmark):.3f} ms per inference ({model.runtime})")
        return 0
    if not args.inputs:
        parser.error("give input .npy files, or --self-test, --watch or --benchmark")
    for path in args.inputs:
        try:
            outputs = model.predict(load_input(path))
        except BadInput as exc:
            print(f"predict.py: {path}: {exc}.", file=sys.stderr)
            return 2
        if args.output:
            np.save(args.output, outputs)
        print(f"{path}: {model.label(outputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
