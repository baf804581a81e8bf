"""Read an int8 ``.tflite`` into a small graph a learner can print: tensors and ops in execution order.

A ``.tflite`` is a flatbuffer (the schema ships with LiteRT as ``schema_py_generated``):
one *subgraph* holds a list of tensors (shape, type, quantization, a pointer to a
buffer of constant bytes) and a list of operators in execution order, each naming
its input and output tensors by index. ``read_tflite`` turns that into plain Python:

>>> graph = read_tflite(open("model.tflite", "rb").read())
>>> for op in graph.ops: print(op.kind, [graph.tensors[i].shape for i in op.inputs], op.options)

Ops that only compute a *shape* (``SHAPE``, ``STRIDED_SLICE``, ``PACK`` feeding a
``RESHAPE``, as Keras' ``Reshape``/``Flatten`` export them) are dropped: every shape is
already known in the file, so nothing needs them at run time.
"""

from dataclasses import dataclass, field

import numpy as np

from scaledown.deploy.compiler.errors import CompileError

SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "ADD",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "MEAN",
    "RESHAPE",
    "EXPAND_DIMS",
    "SQUEEZE",
    "SOFTMAX",
)
RESHAPES = ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")
# Which inputs of an op carry data the op reads at run time (the others are shapes or axes, known when compiling).
_DATA_INPUTS = {"RESHAPE": 1, "EXPAND_DIMS": 1, "SQUEEZE": 1, "MEAN": 1}
_DTYPES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
    10: "float64",
}
_ACTIVATIONS = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


@dataclass
class Tensor:
    """One tensor of the graph: ``data`` is set for constants (weights, biases), None for activations."""

    index: int
    name: str
    shape: tuple
    dtype: str
    scales: np.ndarray = field(repr=False)  # (1,) per tensor or (C,) per channel, float32
    zero_points: np.ndarray = field(repr=False)  # same length as scales, int64
    data: np.ndarray = field(default=None, repr=False)

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    @property
    def scale(self):
        return float(self.scales[0])

    @property
    def zero_point(self):
        return int(self.zero_points[0])


@dataclass
class Op:
    """One operator: ``inputs``/``outputs`` are tensor indices (-1: an optional input left out)."""

    index: int
    kind: str
    inputs: list
    outputs: list
    options: dict


@dataclass
class Graph:
    tensors: list
    ops: list
    inputs: list
    outputs: list

    def tensor(self, index):
        return self.tensors[index]


def read_tflite(content: bytes, name: str = "model.tflite") -> Graph:
    """Parse the bytes of an int8 ``.tflite`` into a ``Graph``; raise ``CompileError`` for anything else."""
    from ai_edge_litert import schema_py_generated as schema

    content = bytes(content)
    if len(content) < 8 or content[4:8] != b"TFL3":
        raise CompileError(
            f"{name} is not a TensorFlow Lite flatbuffer (its bytes 4-8 are not 'TFL3'); pass the "
            "bytes of an int8 .tflite file."
        )
    try:
        model = schema.Model.GetRootAs(content, 0)
        if model.SubgraphsLength() != 1:
            raise CompileError(
                f"{name} has {model.SubgraphsLength()} subgraphs; the compiler accepts models with exactly one."
            )
        subgraph = model.Subgraphs(0)
        op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        tensors = [_read_tensor(model, subgraph.Tensors(t), t) for t in range(subgraph.TensorsLength())]
        ops = []
        for i in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            kind = op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            ops.append(
                Op(
                    i,
                    kind,
                    [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else [],
                    [int(t) for t in op.OutputsAsNumpy()],
                    _read_options(schema, op, kind),
                )
            )
        inputs, outputs = list(map(int, subgraph.InputsAsNumpy())), list(map(int, subgraph.OutputsAsNumpy()))
    except CompileError:
        raise
    except Exception as error:  # noqa: BLE001  (a corrupt flatbuffer fails anywhere inside the generated reader)
        raise CompileError(
            f"{name} could not be read as a .tflite flatbuffer ({type(error).__name__}: {error}); "
            "pass the bytes of an int8 .tflite file."
        ) from None
    graph = Graph(tensors, _live_ops(ops, outputs), inputs, outputs)
    _check(graph, name)
    return graph


def _read_tensor(model, tensor, index):
    dtype = _DTYPES.get(tensor.Type(), f"type {tensor.Type()}")
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    q = tensor.Quantization()
    scales = q.ScaleAsNumpy().astype(np.float32) if q is not None and q.ScaleLength() else np.zeros(0, np.float32)
    zeros = q.ZeroPointAsNumpy().astype(np.int64) if q is not None and q.ZeroPointLength() else np.zeros(0, np.int64)
    buffer = model.Buffers(tensor.Buffer())
    data = None
    if buffer is not None and buffer.DataLength():
        data = np.frombuffer(buffer.DataAsNumpy().tobytes(), np.dtype(dtype)).reshape(shape)
    return Tensor(index, tensor.Name().decode(), shape, dtype, scales, zeros, data)


def _read_options(schema, op, kind):
    table = op.BuiltinOptions()
    readers = {
        "CONV_2D": (
            schema.Conv2DOptions,
            lambda o: dict(
                stride=(o.StrideH(), o.StrideW()),
                dilation=(o.DilationHFactor(), o.DilationWFactor()),
                padding="SAME" if o.Padding() == 0 else "VALID",
                activation=_activation(o),
            ),
        ),
        "DEPTHWISE_CONV_2D": (
            schema.DepthwiseConv2DOptions,
            lambda o: dict(
                stride=(o.StrideH(), o.StrideW()),
                dilation=(o.DilationHFactor(), o.DilationWFactor()),
                padding="SAME" if o.Padding() == 0 else "VALID",
                activation=_activation(o),
                depth_multiplier=o.DepthMultiplier(),
            ),
        ),
        "AVERAGE_POOL_2D": (
            schema.Pool2DOptions,
            lambda o: dict(
                stride=(o.StrideH(), o.StrideW()),
                filter=(o.FilterHeight(), o.FilterWidth()),
                padding="SAME" if o.Padding() == 0 else "VALID",
                activation=_activation(o),
            ),
        ),
        "FULLY_CONNECTED": (
            schema.FullyConnectedOptions,
            lambda o: dict(activation=_activation(o), keep_num_dims=bool(o.KeepNumDims())),
        ),
        "ADD": (schema.AddOptions, lambda o: dict(activation=_activation(o))),
        "MEAN": (schema.ReducerOptions, lambda o: dict(keep_dims=bool(o.KeepDims()))),
        "SOFTMAX": (schema.SoftmaxOptions, lambda o: dict(beta=float(np.float32(o.Beta())))),
    }
    readers["MAX_POOL_2D"] = readers["AVERAGE_POOL_2D"]
    if kind not in readers:
        return {}
    options_class, read = readers[kind]
    if table is None:  # an op written without options: every field reads as the schema's default
        return read(_Defaults())
    options = options_class()
    options.Init(table.Bytes, table.Pos)
    return read(options)


class _Defaults:
    """Stands in for an options table the file left out: every field reads as the schema's default."""

    def __getattr__(self, name):
        defaults = {
            "StrideH": 1,
            "StrideW": 1,
            "DilationHFactor": 1,
            "DilationWFactor": 1,
            "DepthMultiplier": 1,
            "FilterHeight": 1,
            "FilterWidth": 1,
            "Beta": 1.0,
        }
        return lambda: defaults.get(name, 0)


def _activation(options):
    code = options.FusedActivationFunction()
    if code not in _ACTIVATIONS:
        raise CompileError(
            f"a fused activation with code {code} is not supported; supported: none, RELU, RELU_N1_TO_1, RELU6."
        )
    return _ACTIVATIONS[code]


def _live_ops(ops, graph_outputs):
    """The ops whose results reach a graph output through data inputs, in execution order."""
    needed, live = set(graph_outputs), []
    for op in reversed(ops):
        if any(t in needed for t in op.outputs):
            live.append(op)
            needed.update(t for t in op.inputs[: _DATA_INPUTS.get(op.kind, len(op.inputs))] if t >= 0)
    return live[::-1]


def _check(graph, name):
    supported = ", ".join(SUPPORTED_OPS)
    for t in graph.inputs + graph.outputs:
        tensor = graph.tensors[t]
        if tensor.dtype != "int8":
            raise CompileError(
                f"{name} has a {tensor.dtype} {'input' if t in graph.inputs else 'output'} "
                f"({tensor.name!r}); the compiler accepts full-int8 models (int8 inputs, outputs and "
                "activations, as scaledown.quantize(model, data) writes them)."
            )
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise CompileError(
            f"{name} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; the compiler "
            "accepts models with one input and one output."
        )
    for op in graph.ops:
        if op.kind not in SUPPORTED_OPS:
            raise CompileError(
                f"{name} uses op {op.kind}, which the compiler does not support; supported: {supported}."
            )
        for t in op.inputs[: _DATA_INPUTS.get(op.kind, 1 if op.kind not in ("ADD",) else 2)] + op.outputs:
            tensor = graph.tensors[t]
            if tensor.dtype != "int8" or not len(tensor.scales):
                raise CompileError(
                    f"{name}: op {op.kind} #{op.index} has a {tensor.dtype} "
                    f"{'quantized ' if len(tensor.scales) else 'unquantized '}tensor {tensor.name!r}; "
                    "the compiler accepts full-int8 models (int8 activations with scales)."
                )
        if op.kind in ("MEAN",) and graph.tensors[op.inputs[1]].data is None:
            raise CompileError(
                f"{name}: op MEAN #{op.index} takes its axes at run time; the compiler accepts constant axes only."
            )
