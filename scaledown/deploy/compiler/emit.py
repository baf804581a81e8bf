"""Emit plain C99 for a planned int8 graph: constants in flash, one static arena, one call per op.

The folder written by ``emit_c`` (see ``compile_model``):

- ``model.h``: ``SD_INPUT_SIZE``, ``SD_OUTPUT_SIZE``, ``SD_ARENA_SIZE``, ``SD_NUM_OPS``,
  ``int sd_invoke(const int8_t *input, int8_t *output)`` and ``sd_op_names``;
- ``model.c``: weights (``const int8_t``), biases (``const int32_t``), per-channel
  multipliers and shifts, the arena, and ``sd_invoke``, which copies the input into the
  arena, calls one kernel per op (``SD_OP_BEGIN(i)`` before op i) and copies the output out;
- the kernels it calls (``kernels/*.c``, copied), which need no C library.

Everything a kernel needs that the scales decide is computed here, once, the way TensorFlow
Lite Micro computes it in its ``Prepare`` step: a real multiplier M becomes a Q31 integer and a
power of two (``quantize_multiplier``), a fused ReLU becomes an int8 clamp.
"""

import math
import pathlib
import shutil

import numpy as np

from scaledown.deploy.compiler.errors import CompileError
from scaledown.deploy.compiler.reader import RESHAPES

KERNELS = pathlib.Path(__file__).parent / "kernels"
_KERNEL_FILES = {
    "CONV_2D": "conv2d.c",
    "DEPTHWISE_CONV_2D": "depthwise_conv2d.c",
    "FULLY_CONNECTED": "fully_connected.c",
    "ADD": "add.c",
    "AVERAGE_POOL_2D": "pooling.c",
    "MAX_POOL_2D": "pooling.c",
    "MEAN": "mean.c",
    "SOFTMAX": "softmax.c",
}


# --------------------------------------------------------------------------- TFLite's integer arithmetic, in Python


def _round_half_away(x):
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def quantize_multiplier(real):
    """``(m, shift)`` with ``real ≈ m / 2**31 * 2**shift``, ``m`` in [2**30, 2**31): TFLite's QuantizeMultiplier."""
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)  # real = q * 2**shift, q in [0.5, 1)
    m = int(_round_half_away(q * (1 << 31)))
    if m == 1 << 31:  # q rounded up to 1.0
        m //= 2
        shift += 1
    if shift < -31:  # all bits would shift out: the product is 0
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return m, shift


def activation_range(activation, scale, zero_point):
    """The int8 clamp ``(low, high)`` a fused activation becomes (TFLite's CalculateActivationRangeQuantized)."""

    def quantize(value):
        return zero_point + int(_round_half_away(float(np.float32(value) / np.float32(scale))))

    low, high = -128, 127
    if activation == "RELU":
        return max(low, quantize(0.0)), high
    if activation == "RELU6":
        return max(low, quantize(0.0)), min(high, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(low, quantize(-1.0)), min(high, quantize(1.0))
    return low, high


def _output_size_and_padding(stride, dilation, in_size, filter_size, padding):
    effective = (filter_size - 1) * dilation + 1
    out = (in_size + stride - 1) // stride if padding == "SAME" else (in_size + stride - effective) // stride
    return out, max(0, ((out - 1) * stride + effective - in_size) // 2)


# --------------------------------------------------------------------------- C text


def _c_array(ctype, name, values, per_line=24):
    values = [int(v) for v in np.asarray(values).ravel()]
    lines = [", ".join(map(str, values[i : i + per_line])) for i in range(0, len(values), per_line)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n    " + ",\n    ".join(lines) + "\n};\n"


def _c_struct(ctype, name, fields, width=100):
    lines, line = [], "   "
    for key, value in fields.items():
        item = f" .{key} = {value},"
        if len(line) + len(item) > width:
            lines.append(line)
            line = "   "
        line += item
    return f"static const {ctype} {name} = {{\n" + "\n".join([*lines, line]) + "\n};\n"


def _spatial(shape):
    """(height, width, channels) of an NHWC tensor with batch 1."""
    if len(shape) != 4 or shape[0] != 1:
        raise CompileError(
            f"a tensor of shape {shape} is not NHWC with batch 1; the compiler accepts batch-1 images (1, H, W, C)."
        )
    return shape[1], shape[2], shape[3]


class _Emitter:
    def __init__(self, graph, plan):
        self.graph, self.plan = graph, plan
        self.constants, self.params, self.calls, self.kernel_files, self.op_names = [], [], [], set(), []

    def tensor(self, t):
        return self.graph.tensors[t]

    def pointer(self, t):
        """C expression for tensor t's data: an arena offset, or a constant array."""
        if self.tensor(t).data is not None:
            name = f"constant_{t}"
            if not any(f" {name}[" in c for c in self.constants):
                self.constants.append(_c_array("int8_t", name, self.tensor(t).data))
            return name
        return f"(sd_arena + {self.plan.offsets[t]})"

    def constant(self, ctype, name, values):
        self.constants.append(_c_array(ctype, name, values))
        return name

    def emit(self, op, position):
        self.kernel_files.add(_KERNEL_FILES[op.kind])
        label = f"{op.kind.lower()}_{op.index}"
        self.op_names.append(f"{op.kind} #{op.index}")
        call = getattr(self, "_" + op.kind.lower())(op, label, position)
        shapes = " + ".join(str(self.tensor(t).shape) for t in op.inputs[: 1 + (op.kind == "ADD")])
        self.calls.append(
            f"    SD_OP_BEGIN({len(self.op_names) - 1});  /* {op.kind} #{op.index}: {shapes} -> "
            f"{self.tensor(op.outputs[0]).shape} */\n    {call};\n"
        )

    # ---- one method per kind of op: it writes the constants and the parameter struct, returns the call

    def _conv_fields(self, op, label, depthwise):
        x, w, y = self.tensor(op.inputs[0]), self.tensor(op.inputs[1]), self.tensor(op.outputs[0])
        in_h, in_w, in_c = _spatial(x.shape)
        out_h, out_w, out_c = _spatial(y.shape)
        k_h, k_w = (w.shape[1], w.shape[2])
        (stride_h, stride_w), (dil_h, dil_w) = op.options["stride"], op.options["dilation"]
        computed_h, pad_top = _output_size_and_padding(stride_h, dil_h, in_h, k_h, op.options["padding"])
        computed_w, pad_left = _output_size_and_padding(stride_w, dil_w, in_w, k_w, op.options["padding"])
        if (computed_h, computed_w) != (out_h, out_w):
            raise CompileError(
                f"{op.kind} #{op.index}: its output is {out_h}x{out_w} but its options give "
                f"{computed_h}x{computed_w}; the file is inconsistent."
            )
        if np.any(w.zero_points != 0):
            raise CompileError(
                f"{op.kind} #{op.index} has weights with a nonzero zero point; the compiler accepts "
                "symmetric int8 weights, as TFLite's int8 converter writes them."
            )
        filter_scales = np.broadcast_to(w.scales, (out_c,))
        multipliers, shifts = zip(
            *(quantize_multiplier(float(x.scale) * float(s) / float(y.scale)) for s in filter_scales)
        )
        filters = w.data.reshape(k_h, k_w, out_c).transpose(2, 0, 1) if depthwise else w.data  # [oc][ky][kx](...)
        folded_bias = self._folded_bias(op, filters)
        act_min, act_max = activation_range(op.options["activation"], y.scale, y.zero_point)
        return dict(
            in_h=in_h,
            in_w=in_w,
            in_c=in_c,
            out_h=out_h,
            out_w=out_w,
            out_c=out_c,
            k_h=k_h,
            k_w=k_w,
            stride_h=stride_h,
            stride_w=stride_w,
            dilation_h=dil_h,
            dilation_w=dil_w,
            pad_top=pad_top,
            pad_left=pad_left,
            depth_multiplier=op.options.get("depth_multiplier", 1),
            input_offset=-x.zero_point,
            output_offset=y.zero_point,
            act_min=act_min,
            act_max=act_max,
            filter=self.constant("int8_t", f"{label}_filter", filters),
            folded_bias=self.constant("int32_t", f"{label}_folded_bias", folded_bias),
            multiplier=self.constant("int32_t", f"{label}_multiplier", multipliers),
            shift=self.constant("int8_t", f"{label}_shift", shifts),
        )

    def _folded_bias(self, op, filters):
        """``bias + input_offset * sum(filter)`` per output channel (see kernels.h); bias 0 if the op has none."""
        out_c = len(filters)
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        bias = self.tensor(op.inputs[2]).data.astype(np.int64) if has_bias else np.zeros(out_c, np.int64)
        input_offset = -self.tensor(op.inputs[0]).zero_point
        folded = bias + input_offset * filters.reshape(out_c, -1).astype(np.int64).sum(axis=1)
        if np.abs(folded).max() >= 2**31:
            raise CompileError(
                f"{op.kind} #{op.index}: bias plus zero-point term overflows int32; the compiler "
                "accepts layers whose accumulators fit in int32, as TFLite's do."
            )
        return folded

    def _conv_2d(self, op, label, position):
        self.params.append(_c_struct("sd_conv_params", label, self._conv_fields(op, label, False)))
        if position in self.plan.in_place:
            scratch = self.plan.scratch[position].offset
            return f"sd_conv2d_pointwise_in_place(&{label}, {self.pointer(op.inputs[0])}, (sd_arena + {scratch}))"
        patch = f"(sd_arena + {self.plan.scratch[position].offset})" if position in self.plan.scratch else "NULL"
        return f"sd_conv2d(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.outputs[0])}, {patch})"

    def _depthwise_conv_2d(self, op, label, position):
        self.params.append(_c_struct("sd_conv_params", label, self._conv_fields(op, label, True)))
        channel_buffer = f"(sd_arena + {self.plan.scratch[position].offset})"  # in place: output == input
        return (
            f"sd_depthwise_conv2d(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.outputs[0])}, "
            f"{channel_buffer})"
        )

    def _fully_connected(self, op, label, position):
        x, w, y = self.tensor(op.inputs[0]), self.tensor(op.inputs[1]), self.tensor(op.outputs[0])
        out_depth, in_depth = w.shape
        if np.any(w.zero_points != 0):
            raise CompileError(
                f"FULLY_CONNECTED #{op.index} has weights with a nonzero zero point; the compiler "
                "accepts symmetric int8 weights."
            )
        multipliers, shifts = zip(
            *(
                quantize_multiplier(float(x.scale) * float(s) / float(y.scale))
                for s in np.broadcast_to(w.scales, (out_depth,))
            )
        )
        folded_bias = self._folded_bias(op, w.data)
        act_min, act_max = activation_range(op.options["activation"], y.scale, y.zero_point)
        self.params.append(
            _c_struct(
                "sd_fully_connected_params",
                label,
                dict(
                    batches=int(np.prod(x.shape)) // in_depth,
                    in_depth=in_depth,
                    out_depth=out_depth,
                    output_offset=y.zero_point,
                    act_min=act_min,
                    act_max=act_max,
                    filter=self.constant("int8_t", f"{label}_filter", w.data),
                    folded_bias=self.constant("int32_t", f"{label}_folded_bias", folded_bias),
                    multiplier=self.constant("int32_t", f"{label}_multiplier", multipliers),
                    shift=self.constant("int8_t", f"{label}_shift", shifts),
                ),
            )
        )
        return f"sd_fully_connected(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.outputs[0])})"

    def _add(self, op, label, position):
        a, b, y = self.tensor(op.inputs[0]), self.tensor(op.inputs[1]), self.tensor(op.outputs[0])
        if not a.shape == b.shape == y.shape:
            raise CompileError(
                f"ADD #{op.index} broadcasts {a.shape} with {b.shape}; the compiler accepts ADD of "
                "two tensors of the same shape."
            )
        left_shift = 20
        twice_max_input_scale = 2 * max(float(a.scale), float(b.scale))
        m1, s1 = quantize_multiplier(float(a.scale) / twice_max_input_scale)
        m2, s2 = quantize_multiplier(float(b.scale) / twice_max_input_scale)
        mo, so = quantize_multiplier(twice_max_input_scale / ((1 << left_shift) * float(y.scale)))
        act_min, act_max = activation_range(op.options["activation"], y.scale, y.zero_point)
        self.params.append(
            _c_struct(
                "sd_add_params",
                label,
                dict(
                    size=y.nbytes,
                    input1_offset=-a.zero_point,
                    input2_offset=-b.zero_point,
                    output_offset=y.zero_point,
                    left_shift=left_shift,
                    input1_multiplier=m1,
                    input2_multiplier=m2,
                    output_multiplier=mo,
                    input1_shift=s1,
                    input2_shift=s2,
                    output_shift=so,
                    act_min=act_min,
                    act_max=act_max,
                ),
            )
        )
        return (
            f"sd_add(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.inputs[1])}, "
            f"{self.pointer(op.outputs[0])})"
        )

    def _pool(self, op, label, function):
        x, y = self.tensor(op.inputs[0]), self.tensor(op.outputs[0])
        in_h, in_w, channels = _spatial(x.shape)
        out_h, out_w, _ = _spatial(y.shape)
        (stride_h, stride_w), (filter_h, filter_w) = op.options["stride"], op.options["filter"]
        _, pad_top = _output_size_and_padding(stride_h, 1, in_h, filter_h, op.options["padding"])
        _, pad_left = _output_size_and_padding(stride_w, 1, in_w, filter_w, op.options["padding"])
        if x.scale != y.scale or x.zero_point != y.zero_point:
            raise CompileError(
                f"{op.kind} #{op.index} changes the quantization; the compiler (like TFLite) accepts "
                "pooling with the same scale and zero point in and out."
            )
        act_min, act_max = activation_range(op.options["activation"], y.scale, y.zero_point)
        self.params.append(
            _c_struct(
                "sd_pool_params",
                label,
                dict(
                    in_h=in_h,
                    in_w=in_w,
                    channels=channels,
                    out_h=out_h,
                    out_w=out_w,
                    filter_h=filter_h,
                    filter_w=filter_w,
                    stride_h=stride_h,
                    stride_w=stride_w,
                    pad_top=pad_top,
                    pad_left=pad_left,
                    act_min=act_min,
                    act_max=act_max,
                ),
            )
        )
        return f"{function}(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.outputs[0])})"

    def _average_pool_2d(self, op, label, position):
        return self._pool(op, label, "sd_average_pool")

    def _max_pool_2d(self, op, label, position):
        return self._pool(op, label, "sd_max_pool")

    def _mean(self, op, label, position):
        x, y = self.tensor(op.inputs[0]), self.tensor(op.outputs[0])
        axes = sorted({int(a) % len(x.shape) for a in np.atleast_1d(self.tensor(op.inputs[1]).data)})
        if axes != list(range(axes[0], axes[-1] + 1)):
            raise CompileError(
                f"MEAN #{op.index} reduces axes {axes}, which are not next to each other; the compiler "
                "accepts MEAN over consecutive axes (e.g. global average pooling, axes 1 and 2)."
            )
        outer = int(np.prod(x.shape[: axes[0]]))
        reduced = int(np.prod([x.shape[a] for a in axes]))
        inner = int(np.prod(x.shape[axes[-1] + 1 :]))
        multiplier, shift = quantize_multiplier(float(x.scale) / float(y.scale))
        k = min(reduced.bit_length() - 1, 32, 31 + shift)  # fold 1/count in, as TFLite's QuantizedMeanOrSum
        multiplier, shift = (multiplier << k) // reduced, shift - k
        self.params.append(
            _c_struct(
                "sd_mean_params",
                label,
                dict(
                    outer=outer,
                    reduced=reduced,
                    inner=inner,
                    input_zero_point=x.zero_point,
                    output_zero_point=y.zero_point,
                    multiplier=multiplier,
                    shift=shift,
                ),
            )
        )
        return f"sd_mean(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.outputs[0])})"

    def _softmax(self, op, label, position):
        x, y = self.tensor(op.inputs[0]), self.tensor(op.outputs[0])
        if y.zero_point != -128 or np.float32(y.scale) != np.float32(1 / 256):
            raise CompileError(
                f"SOFTMAX #{op.index} has output scale {y.scale} and zero point {y.zero_point}; the "
                "compiler (like TFLite Micro) accepts int8 softmax outputs with scale 1/256 and zero "
                "point -128."
            )
        scaled_diff_integer_bits = 5
        real = min(op.options["beta"] * float(x.scale) * (1 << (31 - scaled_diff_integer_bits)), (1 << 31) - 1.0)
        multiplier, left_shift = quantize_multiplier(real)
        radius = math.floor(
            ((1 << scaled_diff_integer_bits) - 1) * (1 << (31 - scaled_diff_integer_bits)) / (1 << left_shift)
        )
        depth = x.shape[-1]
        self.params.append(
            _c_struct(
                "sd_softmax_params",
                label,
                dict(
                    rows=x.nbytes // depth,
                    depth=depth,
                    input_multiplier=multiplier,
                    input_left_shift=left_shift,
                    diff_min=-radius,
                ),
            )
        )
        return f"sd_softmax(&{label}, {self.pointer(op.inputs[0])}, {self.pointer(op.outputs[0])})"


def emit_c(graph, plan, out_dir):
    """Write ``model.h``, ``model.c`` and the kernels ``graph`` needs into ``out_dir`` (which must exist).

    Returns the op names, one per emitted op (reshapes emit nothing: they alias their input).
    """
    out_dir = pathlib.Path(out_dir)
    emitter = _Emitter(graph, plan)
    for position, op in enumerate(graph.ops):
        if op.kind not in RESHAPES:
            emitter.emit(op, position)
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    num_ops = len(emitter.op_names)
    (out_dir / "model.h").write_text(
        "/* Generated by scaledown.deploy.compiler: the model as plain C99. */\n"
        "#ifndef SD_MODEL_H\n#define SD_MODEL_H\n\n#include <stdint.h>\n\n"
        f"#define SD_INPUT_SIZE  {x.nbytes}   /* int8 input {x.shape}, NHWC */\n"
        f"#define SD_OUTPUT_SIZE {y.nbytes}   /* int8 output {y.shape} */\n"
        f"#define SD_ARENA_SIZE  {plan.arena_bytes}   /* activations; the lower bound is "
        f"{plan.lower_bound_bytes} */\n"
        f"#define SD_NUM_OPS     {num_ops}\n\n"
        "int sd_invoke(const int8_t *input, int8_t *output);   /* returns 0 on success */\n"
        "extern const char *const sd_op_names[SD_NUM_OPS];\n\n#endif\n"
    )
    names = ",\n".join(f'    "{name}"' for name in emitter.op_names)
    (out_dir / "model.c").write_text(
        "/* Generated by scaledown.deploy.compiler. Weights and parameters are const (flash);\n"
        " * activations live at fixed offsets in one static arena (see plan.json). */\n"
        '#include "model.h"\n#include "kernels.h"\n\n'
        "#ifndef SD_OP_BEGIN\n#define SD_OP_BEGIN(i) ((void)0)\n#endif\n\n"
        "static int8_t sd_arena[SD_ARENA_SIZE] __attribute__((aligned(16)));\n\n"
        f"const char *const sd_op_names[SD_NUM_OPS] = {{\n{names}\n}};\n\n"
        + "\n".join(emitter.constants)
        + "\n"
        + "\n".join(emitter.params)
        + "\n"
        "int sd_invoke(const int8_t *input, int8_t *output) {\n"
        f"    sd_copy({emitter.pointer(graph.inputs[0])}, input, SD_INPUT_SIZE);\n"
        + "".join(emitter.calls)
        + "    SD_OP_BEGIN(SD_NUM_OPS);\n"
        f"    sd_copy(output, {emitter.pointer(graph.outputs[0])}, SD_OUTPUT_SIZE);\n"
        "    return 0;\n}\n"
    )
    for name in sorted(emitter.kernel_files | {"copy.c", "kernels.h", "fixedpoint.h"}):
        shutil.copyfile(KERNELS / name, out_dir / name)
    return emitter.op_names
