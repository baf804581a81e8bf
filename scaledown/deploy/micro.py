"""Packages for microcontrollers (Nano 33 BLE Sense, ESP32-S3, STM32H7): the model as C, run by TFLite Micro.

A microcontroller has no file system and no Python: the model is compiled into
the firmware as a C array, the interpreter registers only the ops the model
uses (each kernel costs flash), and all tensors live in one static *tensor
arena* whose size must be known at compile time. This module writes those
pieces and measures the arena by running the model in the TFLite Micro
interpreter itself (the ``tflite-micro`` package), with a safety margin.

    header, source = c_array(tflite_bytes)         # model_data.h / model_data.cc
    read_c_array(source) == tflite_bytes           # True
    usage = measure_arena(tflite_bytes)            # usage.minimum_bytes, usage.head_bytes, ...
    print(op_resolver_source(["CONV_2D", "FULLY_CONNECTED"]))
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import pathlib
import re
import string
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from scaledown.deploy.package import (
    HELP_CHAPTERS,
    MANIFEST,
    DeploymentPackage,
    DeploymentRefused,
    check_preprocessing,
    list_files,
    raw_samples,
    staging,
    tflite_spec,
    write_json,
)
from scaledown.foundations.hardware.targets import format_bytes

TEMPLATES = pathlib.Path(__file__).parent / "templates" / "micro"

# TFLite builtin op -> the MicroMutableOpResolver method that registers its kernel
# (tensorflow/lite/micro/micro_mutable_op_resolver.h).
RESOLVER_METHODS = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "ELU": "AddElu",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "REDUCE_MAX": "AddReduceMax",
    "REDUCE_MIN": "AddReduceMin",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "REVERSE_V2": "AddReverseV2",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
    "ZEROS_LIKE": "AddZerosLike",
}

# How each board is built: PlatformIO platform and board, Arduino board.
BOARDS = {
    "nano33ble": {
        "platform": "nordicnrf52",
        "board": "nano33ble",
        "fqbn": "arduino:mbed_nano:nano33ble",
        "lib_deps": "https://github.com/tensorflow/tflite-micro-arduino-examples",
    },
    "esp32s3": {
        "platform": "espressif32",
        "board": "esp32-s3-devkitc-1",
        "fqbn": "esp32:esp32:esp32s3",
        "lib_deps": None,
    },
    "stm32h7": {"platform": "ststm32", "board": "nucleo_h743zi", "fqbn": None, "lib_deps": None},
}


# --------------------------------------------------------------------------- the model as C


def c_array(content: bytes, name: str = "g_model", header: str = "model_data.h") -> tuple:
    """The model as C source, like ``xxd -i``: returns ``(header_text, source_text)``.

    The array is ``alignas(16) const unsigned char NAME[]`` (TFLite Micro reads
    the flatbuffer in place, so it must be aligned) with ``NAME_len`` beside it;
    12 bytes a line.
    """
    guard = re.sub(r"\W", "_", header).upper() + "_"
    header_text = (
        f"// The model as a C array, generated by scaledown ({len(content):,} bytes).\n"
        f"#ifndef {guard}\n#define {guard}\n\n"
        f"extern const unsigned char {name}[];\nextern const unsigned int {name}_len;\n\n#endif  // {guard}\n"
    )
    lines = [", ".join(f"0x{b:02x}" for b in content[i : i + 12]) for i in range(0, len(content), 12)]
    source_text = (
        f'#include "{header}"\n\n'
        f"alignas(16) const unsigned char {name}[] = {{\n  " + ",\n  ".join(lines) + "\n};\n"
        f"const unsigned int {name}_len = {len(content)};\n"
    )
    return header_text, source_text


def read_c_array(source_text: str, name: str = "g_model") -> bytes:
    """The bytes of array ``name`` in C source written by :func:`c_array` (or ``xxd -i``); checks ``NAME_len``."""
    match = re.search(rf"{name}\[\]\s*=\s*\{{(.*?)\}};", source_text, re.S)
    if match is None:
        raise ValueError(f"source_text holds no array {name}[] = {{...}}; pass the text of model_data.cc.")
    content = bytes(int(token, 16) for token in re.findall(r"0x([0-9a-fA-F]{2})", match.group(1)))
    length = re.search(rf"{name}_len\s*=\s*(\d+)", source_text)
    if length is not None and int(length.group(1)) != len(content):
        raise ValueError(f"{name} holds {len(content)} bytes but {name}_len says {length.group(1)}.")
    return content


def op_resolver_source(ops) -> str:
    """``op_resolver.h``: a ``MicroMutableOpResolver<N>`` that registers exactly ``ops`` (TFLite builtin names)."""
    ops = sorted(set(ops))
    missing = [op for op in ops if op not in RESOLVER_METHODS]
    if missing:
        raise DeploymentRefused(f"TFLite Micro has no kernel for {', '.join(missing)}.")
    calls = "\n".join(
        f"  if (resolver.{RESOLVER_METHODS[op]}() != kTfLiteOk) return kTfLiteError;  // {op}" for op in ops
    )
    return (
        "// Registers exactly the ops the model uses: every kernel costs flash. Generated by scaledown.\n"
        "#ifndef OP_RESOLVER_H_\n#define OP_RESOLVER_H_\n\n"
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
        f"using ModelOpResolver = tflite::MicroMutableOpResolver<{len(ops)}>;\n\n"
        "inline TfLiteStatus RegisterOps(ModelOpResolver& resolver) {\n"
        f"{calls}\n  return kTfLiteOk;\n}}\n\n#endif  // OP_RESOLVER_H_\n"
    )


# --------------------------------------------------------------------------- the arena, measured


@dataclass
class ArenaUsage:
    """Tensor-arena use of a model in the TFLite Micro interpreter.

    ``minimum_bytes``: the smallest ``arena_size`` with which the model loads and
    runs (found by bisection, 16-byte steps). ``recorded_bytes``, ``head_bytes``,
    ``tail_bytes``: what TFLite Micro's recording allocator reports — the head
    holds the activations (reusable between models that never run at the same
    time), the tail the persistent data of this interpreter.
    """

    minimum_bytes: int
    recorded_bytes: int
    head_bytes: int
    tail_bytes: int

    def with_margin(self, margin: float = 0.25) -> int:
        """``minimum_bytes·(1 + margin)``, rounded up to a whole KB: the size to compile into the firmware."""
        return int(math.ceil(self.minimum_bytes * (1 + margin) / 1024) * 1024)


@contextlib.contextmanager
def _capture_native_stderr():
    """Collect what C++ code writes to file descriptor 2 (TFLite Micro logs there); yields a list that gets the text."""
    captured = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode(errors="replace"))


_PROBE = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
content = open(sys.argv[1], "rb").read()
try:
    interpreter = runtime.Interpreter.from_bytes(content, arena_size=int(sys.argv[2]))
    detail = interpreter.get_input_details(0)
    interpreter.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
    interpreter.invoke()
except RuntimeError:
    sys.exit(3)
"""


def _runs_with(model_path, arena_size: int) -> bool:
    """Does the model load and run in TFLite Micro with this arena? Asked in a separate process:
    with some too-small arenas the interpreter crashes instead of raising."""
    import subprocess

    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(model_path), str(arena_size)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return probe.returncode == 0


def _tflm_inputs(interpreter):
    return [interpreter.get_input_details(0)]


def measure_arena(content: bytes, limit_bytes: int = 64 * 1024 * 1024) -> ArenaUsage:
    """Measure the tensor arena a ``.tflite`` needs by running it in the TFLite Micro interpreter.

    Finds an arena with which the model loads and runs on zero inputs (doubling
    from 64 KB), reads the recording allocator's total, head and tail there, then
    checks that total and bisects (16-byte steps) to the smallest size that works.
    Each trial runs in a child process: some too-small arenas crash the interpreter.

    Raises
    ------
    DeploymentRefused
        If the model does not run in TFLite Micro even with ``limit_bytes``.
    """
    from tflite_micro.python.tflite_micro import runtime

    content = bytes(content)
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.tflite"
        path.write_bytes(content)
        high = max(64 * 1024, 16 * ((4 * len(content)) // 16))
        while not _runs_with(path, high):
            high *= 2
            if high > limit_bytes:
                raise DeploymentRefused(
                    f"The model does not run in TFLite Micro even with a "
                    f"{format_bytes(limit_bytes)} arena: check that it is a full-int8 .tflite "
                    "with supported ops."
                )
        with _capture_native_stderr() as log:
            interpreter = runtime.Interpreter.from_bytes(content, arena_size=high)
            for i, inp in enumerate(_tflm_inputs(interpreter)):
                interpreter.set_input(np.zeros(inp["shape"], inp["dtype"]), i)
            interpreter.invoke()
            interpreter.print_allocations()
        text = log[0]

        def recorded(part):
            match = re.search(rf"Arena allocation {part} (\d+) bytes", text)
            return int(match.group(1)) if match else -1

        total = recorded("total")
        low = 0
        if 0 < total < high:
            if _runs_with(path, total):
                high, low = total, max(0, total - 16)
                if not _runs_with(path, low):
                    low = high - 16  # the recorded total is the minimum (the usual case)
            else:
                low = total
        while high - low > 16:
            middle = (low + high) // 2 // 16 * 16
            if middle <= low:
                break
            if _runs_with(path, middle):
                high = middle
            else:
                low = middle
    return ArenaUsage(
        minimum_bytes=high, recorded_bytes=total, head_bytes=recorded("head"), tail_bytes=recorded("tail")
    )


# --------------------------------------------------------------------------- verification


def run_tflm(content: bytes, x_int8: np.ndarray, arena_size: int | None = None) -> np.ndarray:
    """Raw int8 outputs (N, ...) of the TFLite Micro interpreter for int8 inputs (N, ...), one sample at a time."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(bytes(content), arena_size=arena_size)
    outputs = []
    for sample in x_int8:
        interpreter.set_input(sample[None], 0)
        interpreter.invoke()
        outputs.append(interpreter.get_output(0).copy())
    return np.concatenate(outputs)


def run_litert_reference(content: bytes, x_int8: np.ndarray) -> np.ndarray:
    """Raw int8 outputs of LiteRT with its reference kernels (the integer arithmetic TFLite Micro implements)."""
    from scaledown.compress.quantization.tensorflow import TFLiteRunner

    runner = TFLiteRunner(bytes(content), "litert", reference_kernels=True)
    return np.concatenate([runner.invoke(sample[None]) for sample in x_int8])


def quantize_input(x: np.ndarray, spec: dict) -> np.ndarray:
    """Float model inputs -> int8 with the input tensor's scale and zero point (round half to even, clip)."""
    q = spec["quantization"]
    return np.clip(np.round(np.asarray(x, np.float32) / q["scale"][0]) + q["zero_point"][0], -128, 127).astype(np.int8)


# --------------------------------------------------------------------------- the package


def _c_float(value) -> str:
    text = f"{float(value):.9g}"
    return text + ("f" if any(c in text for c in ".e") else ".0f")


def _c_floats(values) -> str:
    return ", ".join(_c_float(v) for v in np.atleast_1d(values))


def _c_ints(values) -> str:
    return ", ".join(str(int(v)) for v in np.ravel(values))


def _c_string(text: str) -> str:
    """``text`` as a C string literal: UTF-8 bytes, with quotes, backslashes, '?' (trigraphs) and every
    non-printable or non-ASCII byte written as an octal escape, so no class name can break the header."""
    out = []
    for byte in str(text).encode("utf-8"):
        char = chr(byte)
        out.append(f"\\{char}" if char in '"\\?' else char if 32 <= byte < 127 else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _settings_header(spec, preprocessing, arena_size, class_names, sample_q, expected_q, sample_raw) -> str:
    inp, outp = spec["inputs"][0], spec["outputs"][0]
    channels = inp["shape"][-1]
    multiply = np.broadcast_to(np.asarray(preprocessing["multiply"], np.float64), (channels,))
    add = np.broadcast_to(np.asarray(preprocessing["add"], np.float64), (channels,))
    names = class_names or [str(i) for i in range(outp["shape"][-1])]
    return "\n".join(
        [
            "// Sizes, quantization and a self-test sample of the model. Generated by scaledown.",
            "#ifndef MODEL_SETTINGS_H_",
            "#define MODEL_SETTINGS_H_",
            "",
            "#include <stdint.h>",
            "",
            "// Tensor arena: measured in the TFLite Micro interpreter, plus a safety margin.",
            f"constexpr int kTensorArenaSize = {arena_size};",
            "",
            f"// Input {tuple(inp['shape'])} int8; raw values x become q = round((x*multiply + add)/scale) + zero_point.",
            f"constexpr int kInputSize = {int(np.prod(inp['shape']))};",
            f"constexpr int kInputChannels = {channels};",
            f"constexpr float kInputScale = {_c_float(inp['quantization']['scale'][0])};",
            f"constexpr int kInputZeroPoint = {inp['quantization']['zero_point'][0]};",
            f"constexpr float kPreprocessMultiply[kInputChannels] = {{{_c_floats(multiply)}}};",
            f"constexpr float kPreprocessAdd[kInputChannels] = {{{_c_floats(add)}}};",
            "",
            f"// Output {tuple(outp['shape'])} int8; score = (q - zero_point) * scale.",
            f"constexpr int kNumOutputs = {int(np.prod(outp['shape']))};",
            f"constexpr float kOutputScale = {_c_float(outp['quantization']['scale'][0])};",
            f"constexpr int kOutputZeroPoint = {outp['quantization']['zero_point'][0]};",
            "constexpr const char* kClassNames[kNumOutputs] = {" + ", ".join(_c_string(n) for n in names) + "};",
            "",
            "// Self-test: one input, and the output the TFLite Micro interpreter gave for it on the host.",
            f"constexpr int8_t kSampleInputInt8[kInputSize] = {{{_c_ints(sample_q)}}};",
            f"constexpr int8_t kSampleExpectedInt8[kNumOutputs] = {{{_c_ints(expected_q)}}};",
            f"constexpr float kSampleRawInput[kInputSize] = {{{_c_floats(np.ravel(sample_raw))}}};",
            "",
            "#endif  // MODEL_SETTINGS_H_",
            "",
        ]
    )


def memory_report(model_bytes: int, arena: ArenaUsage, arena_size: int, target) -> dict:
    """Flash and SRAM the model takes on ``target``, against what the board has left for it."""
    flash_free = target.flash_bytes - target.reserved_flash_bytes
    ram_free = target.ram_bytes - target.reserved_ram_bytes
    return {
        "model_flash_bytes": model_bytes,
        "flash_available_bytes": flash_free,
        "flash_used_percent": round(100 * model_bytes / flash_free, 1),
        "arena_measured_bytes": arena.minimum_bytes,
        "arena_bytes": arena_size,
        "arena_head_bytes": arena.head_bytes,
        "arena_tail_bytes": arena.tail_bytes,
        "ram_available_bytes": ram_free,
        "ram_used_percent": round(100 * arena_size / ram_free, 1),
        "board_flash_bytes": target.flash_bytes,
        "board_ram_bytes": target.ram_bytes,
        "reserved_flash_bytes": target.reserved_flash_bytes,
        "reserved_ram_bytes": target.reserved_ram_bytes,
    }


def _report_lines(report: dict, target) -> list:
    return [
        f"flash: model {format_bytes(report['model_flash_bytes'])} of the {format_bytes(report['flash_available_bytes'])} "
        f"left after {format_bytes(report['reserved_flash_bytes'])} reserved on {target.id} "
        f"({report['flash_used_percent']}%)",
        f"SRAM: tensor arena {format_bytes(report['arena_bytes'])} (measured {report['arena_measured_bytes']:,} bytes "
        f"+ margin) of the {format_bytes(report['ram_available_bytes'])} left after "
        f"{format_bytes(report['reserved_ram_bytes'])} reserved ({report['ram_used_percent']}%)",
        f"TFLite Micro vs LiteRT (reference kernels) on {report['verified_samples']} samples: "
        + (
            "bit for bit"
            if report["bit_exact"]
            else f"{report['outputs_off_by_one_step']} outputs one step apart (rounding ties)"
        ),
    ]


def check_micro_model(spec: dict, model_bytes: int, target) -> None:
    """Refuse int8-less models, ops TFLite Micro lacks, and models over the board's flash."""
    unsupported = sorted(op for op in spec["ops"] if op not in target.ops or op not in RESOLVER_METHODS)
    if unsupported:
        raise DeploymentRefused(
            f"TFLite Micro on {target.id} lacks the ops {', '.join(unsupported)}: replace those "
            "layers with supported ones (see the training chapter's op list) and "
            f"{HELP_CHAPTERS}."
        )
    for role in ("inputs", "outputs"):
        tensor = spec[role][0]
        if tensor["dtype"] != "int8" or not tensor["quantization"]:
            raise DeploymentRefused(
                f"The model's {role[:-1]} is {tensor['dtype']}: microcontroller packages take "
                "full-int8 models; convert with representative data (see the quantization "
                "chapter)."
            )
    flash_free = target.flash_bytes - target.reserved_flash_bytes
    if model_bytes > flash_free:
        raise DeploymentRefused(
            f"The model ({model_bytes:,} bytes) is {model_bytes - flash_free:,} bytes over the "
            f"{flash_free:,} bytes of flash {target.id} has left for it; {HELP_CHAPTERS}."
        )


def _write_samples(folder, tflite_bytes, raw, x_int8, tflm_out) -> None:
    """The package's self-test data: the model, raw and int8 inputs, and TFLite Micro's int8 outputs."""
    folder.mkdir()
    (folder / "model.tflite").write_bytes(tflite_bytes)
    np.save(folder / "inputs.npy", raw.astype(np.float32))
    np.save(folder / "inputs_int8.npy", x_int8)
    np.save(folder / "expected_outputs_int8.npy", tflm_out)


def build_micro_package(
    artefact,
    target,
    out,
    *,
    representative_data=None,
    sample_inputs=None,
    preprocessing=None,
    class_names=None,
    name="model",
    arena_margin=0.25,
    runtime="interpreter",
) -> DeploymentPackage:
    """Write the microcontroller package for ``artefact`` to ``out``; see ``create_deployment_package``."""
    import scaledown

    if artefact.format != "tflite":
        raise DeploymentRefused(
            f"ONNX models do not run on TFLite Micro ({target.id}): convert to a full-int8 .tflite "
            "first (e.g. with onnx2tf), or deploy the Keras model."
        )
    spec = tflite_spec(artefact.content)
    check_micro_model(spec, len(artefact.content), target)
    preprocessing = check_preprocessing(preprocessing, spec)
    if class_names is not None and len(class_names) != spec["outputs"][0]["shape"][-1]:
        raise ValueError(
            f"class_names has {len(class_names)} names; the model has {spec['outputs'][0]['shape'][-1]} outputs."
        )
    if runtime == "compiled":
        return _build_compiled_package(
            artefact, target, out, spec, preprocessing, class_names, name, sample_inputs, representative_data
        )
    arena = measure_arena(artefact.content)
    arena_size = arena.with_margin(arena_margin)
    ram_free = target.ram_bytes - target.reserved_ram_bytes
    if arena_size > ram_free:
        raise DeploymentRefused(
            f"The tensor arena ({arena_size:,} bytes with margin) is {arena_size - ram_free:,} "
            f"bytes over the {ram_free:,} bytes of SRAM {target.id} has left for it; "
            f"{HELP_CHAPTERS}."
        )
    raw = raw_samples(spec, preprocessing, sample_inputs, representative_data)
    model_inputs = raw * np.asarray(preprocessing["multiply"], np.float32) + np.asarray(
        preprocessing["add"], np.float32
    )
    x_int8 = quantize_input(model_inputs, spec["inputs"][0])
    header_text, source_text = c_array(artefact.content)
    from_array = read_c_array(source_text)
    tflm_out = run_tflm(from_array, x_int8, arena_size=arena_size)
    litert_out = run_litert_reference(artefact.content, x_int8)
    steps = np.abs(tflm_out.astype(np.int32) - litert_out.astype(np.int32))
    if steps.max(initial=0) > 1:
        raise RuntimeError(
            f"TFLite Micro and LiteRT's reference kernels disagree on {int(np.sum(steps > 0))} of "
            f"{steps.size} sample outputs by up to {int(steps.max())} steps: please report this model."
        )
    report = memory_report(len(artefact.content), arena, arena_size, target)
    # LiteRT's FULLY_CONNECTED rounds once where TFLite Micro rounds twice: on a rounding tie they differ by one step
    report.update(
        verified_samples=int(len(x_int8)),
        bit_exact=bool(steps.max(initial=0) == 0),
        outputs_off_by_one_step=int(np.sum(steps > 0)),
    )
    board = BOARDS[target.id]
    settings = _settings_header(spec, preprocessing, arena_size, class_names, x_int8[0], tflm_out[0], raw[0])
    resolver = op_resolver_source(spec["ops"])
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    values = {
        "name": name,
        "target_id": target.id,
        "target_name": target.name,
        "processor": target.processor,
        "created": created,
        "version": scaledown.__version__,
        "model_bytes": f"{len(artefact.content):,}",
        "sha256": artefact.sha256,
        "origin": artefact.origin,
        "platform": board["platform"],
        "board": board["board"],
        "fqbn": board["fqbn"] or "(your STM32duino board)",
        "lib_deps": f"lib_deps = {board['lib_deps']}"
        if board["lib_deps"]
        else "; lib_deps: put a TFLite Micro library for this board in lib/ (see README.md)",
        "ops": ", ".join(sorted(spec["ops"])),
        "num_ops": len(spec["ops"]),
        "arena_size": f"{arena_size:,}",
        "arena_measured": f"{arena.minimum_bytes:,}",
        "margin_percent": f"{100 * arena_margin:g}",
        "report": "\n".join(f"- {line}" for line in _report_lines(report, target)),
        "input_shape": tuple(spec["inputs"][0]["shape"]),
        "output_shape": tuple(spec["outputs"][0]["shape"]),
        "prep_description": preprocessing["description"],
        "samples": len(x_int8),
        "agreement": "equal, bit for bit"
        if report["bit_exact"]
        else f"{report['outputs_off_by_one_step']} outputs one step apart (a rounding tie), all others equal",
    }
    program = string.Template((TEMPLATES / "main.cpp.template").read_text()).substitute(values)
    shared = {
        "model_data.h": header_text,
        "model_data.cc": source_text,
        "op_resolver.h": resolver,
        "model_settings.h": settings,
    }
    with staging(out) as folder:
        for filename, text in shared.items():
            (folder / filename).write_text(text)
        sketch = folder / "arduino" / name
        sketch.mkdir(parents=True)
        (sketch / f"{name}.ino").write_text(program)
        pio = folder / "platformio"
        (pio / "src").mkdir(parents=True)
        (pio / "src" / "main.cpp").write_text(program)
        (pio / "platformio.ini").write_text(
            string.Template((TEMPLATES / "platformio.ini.template").read_text()).substitute(values)
        )
        for filename, text in shared.items():
            (sketch / filename).write_text(text)
            (pio / "src" / filename).write_text(text)
        _write_samples(folder / "samples", artefact.content, raw, x_int8, tflm_out)
        manifest = {
            "name": name,
            "format_version": 1,
            "scaledown_version": scaledown.__version__,
            "created": created,
            "target": target.id,
            "target_name": target.name,
            "runtime": "tflite-micro",
            "model": {
                "file": "model_data.cc",
                "array": "g_model",
                "format": "tflite",
                "bytes": len(artefact.content),
                "sha256": artefact.sha256,
                "origin": artefact.origin,
            },
            "inputs": spec["inputs"],
            "outputs": spec["outputs"],
            "ops": spec["ops"],
            "preprocessing": preprocessing,
            "class_names": class_names,
            "arena": {
                "bytes": arena_size,
                "measured_bytes": arena.minimum_bytes,
                "margin": arena_margin,
                "head_bytes": arena.head_bytes,
                "tail_bytes": arena.tail_bytes,
            },
            "memory": report,
        }
        write_json(folder / MANIFEST, manifest)
        write_json(folder / "report.json", report)
        (folder / "README.md").write_text(
            string.Template((TEMPLATES / "README.template").read_text()).substitute(values)
        )
    return DeploymentPackage(
        path=out,
        target=target,
        manifest=manifest,
        files=list_files(out),
        archive=None,
        report={**report, "lines": _report_lines(report, target)},
    )


def _build_compiled_package(
    artefact, target, out, spec, preprocessing, class_names, name, sample_inputs, representative_data
) -> DeploymentPackage:
    """The package with the model compiled to C (``runtime="compiled"``): ``project/`` (PlatformIO +
    Makefile), ``arduino/NAME/``, ``samples/``; verified like the interpreter's, on an emulated Cortex-M4."""
    import shutil

    import scaledown
    from scaledown.deploy.compiler import CompileError
    from scaledown.deploy.compiler.cortex_m4 import run_cortex_m4
    from scaledown.deploy.compiler.project import build_project

    raw = raw_samples(spec, preprocessing, sample_inputs, representative_data)
    model_inputs = raw * np.asarray(preprocessing["multiply"], np.float32) + np.asarray(
        preprocessing["add"], np.float32
    )
    x_int8 = quantize_input(model_inputs, spec["inputs"][0])
    tflm_out = run_tflm(artefact.content, x_int8)
    board = BOARDS[target.id]
    with staging(out) as folder:
        try:
            compiled = build_project(
                artefact.content,
                folder / "project",
                "cortex-m4",
                name=f"{name}.tflite",
                sample_input=x_int8[0],
                board=board["board"],
                platform=board["platform"],
            )
        except CompileError as error:
            raise DeploymentRefused(str(error)) from None
        ours = run_cortex_m4(folder / "project" / "build" / "model.elf", x_int8).reshape(tflm_out.shape)
        mismatches = int(np.count_nonzero(np.any((ours != tflm_out).reshape(len(x_int8), -1), axis=1)))
        if mismatches:
            raise RuntimeError(
                f"The compiled model and TFLite Micro disagree on {mismatches} of {len(x_int8)} samples: "
                "please report this model."
            )
        flash_free, ram_free = (
            target.flash_bytes - target.reserved_flash_bytes,
            target.ram_bytes - target.reserved_ram_bytes,
        )
        if compiled["flash_bytes"] > flash_free or compiled["ram_bytes"] > ram_free:
            raise DeploymentRefused(
                f"The compiled model takes {compiled['flash_bytes']:,} bytes of flash and {compiled['ram_bytes']:,} "
                f"of RAM; {target.id} has {flash_free:,} and {ram_free:,} left for it; {HELP_CHAPTERS}."
            )
        report = {
            "runtime": "compiled",
            "flash_bytes": compiled["flash_bytes"],
            "flash_available_bytes": flash_free,
            "ram_bytes": compiled["ram_bytes"],
            "ram_available_bytes": ram_free,
            "arena_bytes": compiled["arena"]["ours_bytes"],
            "arena_lower_bound_bytes": compiled["arena"]["lower_bound_bytes"],
            "peak_stack_bytes": compiled["peak_stack_bytes"],
            "instructions": compiled["instructions"],
            "instructions_per_mac": compiled["instructions_per_mac"],
            "verified_samples": int(len(x_int8)),
            "bit_exact": True,
        }
        lines = [
            f"flash: {report['flash_bytes']:,} bytes (code, weights, startup) of the {flash_free:,} left on {target.id}",
            f"RAM: {report['ram_bytes']:,} bytes (arena {report['arena_bytes']:,}, lower bound "
            f"{report['arena_lower_bound_bytes']:,}; stack {report['peak_stack_bytes']:,}) of the {ram_free:,} left",
            f"{report['instructions']:,} instructions per inference on the emulated Cortex-M4 "
            f"({report['instructions_per_mac']} per MAC)",
            f"emulated Cortex-M4 vs TFLite Micro on {len(x_int8)} samples: bit for bit",
        ]
        sketch = folder / "arduino" / name
        sketch.mkdir(parents=True)
        source = folder / "project" / "src"
        for path in sorted(source.iterdir()):
            if path.suffix in (".c", ".h"):
                shutil.copy(path, sketch / path.name)
        shutil.copy(source / "main.cpp", sketch / f"{name}.ino")
        _write_samples(folder / "samples", artefact.content, raw, x_int8, tflm_out)
        manifest = {
            "name": name,
            "format_version": 1,
            "scaledown_version": scaledown.__version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "target": target.id,
            "target_name": target.name,
            "runtime": "compiled",
            "model": {
                "file": "project/src/model.c",
                "format": "c99",
                "from": "tflite",
                "bytes": len(artefact.content),
                "sha256": artefact.sha256,
                "origin": artefact.origin,
            },
            "inputs": spec["inputs"],
            "outputs": spec["outputs"],
            "ops": spec["ops"],
            "preprocessing": preprocessing,
            "class_names": class_names,
            "memory": report,
        }
        write_json(folder / MANIFEST, manifest)
        write_json(folder / "report.json", {**report, "compiler": compiled})
        (folder / "README.md").write_text(
            f"# {name} for {target.name}, compiled to C\n\n"
            "The model is plain C99 (`project/src/model.c`, its kernels and one static arena): no interpreter.\n\n"
            "- PlatformIO: `cd project && pio run -t upload && pio device monitor`\n"
            f"- Arduino IDE: open `arduino/{name}/{name}.ino`\n"
            "- Arm GNU toolchain: `cd project && make size` (libmodel.a and a bare-metal model.elf)\n\n"
            "The program runs the stored sample and prints the class, checking the output bit for bit.\n\n"
            + "\n".join(f"- {line}" for line in lines)
            + "\n"
        )
    return DeploymentPackage(
        path=out,
        target=target,
        manifest=manifest,
        files=list_files(out),
        archive=None,
        report={**report, "lines": lines},
    )


__all__ = [
    "c_array",
    "read_c_array",
    "op_resolver_source",
    "measure_arena",
    "ArenaUsage",
    "run_tflm",
    "run_litert_reference",
    "memory_report",
    "RESOLVER_METHODS",
    "BOARDS",
    "build_micro_package",
]
