"""Run this package's model: LiteRT (or ONNX Runtime) and NumPy, nothing else.

    python predict.py INPUT.npy [...] [--output OUT.npy]   predict for arrays (N, ...) of raw inputs
    python predict.py --self-test                          check the stored sample outputs
    python predict.py --watch INBOX --results OUTBOX       the service: predict every .npy dropped in INBOX
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

    def predict(self, raw):
        """Float32 outputs (N, outputs) for raw inputs (N, ...), one inference per sample."""
        x = self.quantize(self.preprocess(raw))
        if len(x) == 1:
            return self.dequantize(self.invoke(x))
        return np.concatenate([self.dequantize(self.invoke(x[i:i + 1])) for i in range(len(x))])

    def label(self, outputs):
        """Class names (or indices) of the arg-max of each output row."""
        names = self.manifest.get("class_names")
        return [names[i] if names else int(i) for i in np.argmax(outputs, axis=1)]


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


def watch(model, inbox, outbox, poll_s=0.5, once=False):
    """The service loop: for each INBOX/*.npy, write OUTBOX/NAME.json with the outputs and labels, then delete it."""
    inbox, outbox = pathlib.Path(inbox), pathlib.Path(outbox)
    inbox.mkdir(parents=True, exist_ok=True)
    outbox.mkdir(parents=True, exist_ok=True)
    while True:
        for path in sorted(inbox.glob("*.npy")):
            outputs = model.predict(np.load(path))
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
    parser.add_argument("--once", action="store_true", help="with --watch: one pass, then exit")
    parser.add_argument("--benchmark", type=int, metavar="N", help="time N inferences")
    parser.add_argument("--threads", type=int, default=None, help="runtime threads (default: the runtime's)")
    args = parser.parse_args(argv)
    model = Model(num_threads=args.threads)
    if args.self_test:
        return 0 if self_test(model) else 1
    if args.watch:
        watch(model, args.watch, args.results, once=args.once)
        return 0
    if args.benchmark:
        print(f"{benchmark(model, args.benchmark):.3f} ms per inference ({model.runtime})")
        return 0
    if not args.inputs:
        parser.error("give input .npy files, or --self-test, --watch or --benchmark")
    for path in args.inputs:
        outputs = model.predict(np.load(path))
        if args.output:
            np.save(args.output, outputs)
        print(f"{path}: {model.label(outputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
