"""A framework-free picture of a model: tensors, ops in execution order, weights.

Every reader (Keras, PyTorch, .tflite, .onnx) turns a model into a :class:`Graph`
whose op types use TFLite builtin names (``CONV_2D``, ``DEPTHWISE_CONV_2D``,
``FULLY_CONNECTED``...), so the profiler can ask one question of every framework:
which ops does it need, how many weights, how much activation memory.
Layers no TFLite builtin matches keep their own class name (e.g. ``Lambda``).
"""

from dataclasses import dataclass, field
from math import prod

DTYPE_BYTES = {
    "float64": 8,
    "int64": 8,
    "float32": 4,
    "int32": 4,
    "uint32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int16": 2,
    "uint16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}

# Ops that carry a weight matrix and a bias; the converter folds BatchNorm and
# fuses a following RELU/RELU6 into them.
WEIGHTED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}
_FUSES_ACTIVATION = WEIGHTED_OPS | {"ADD", "SUB", "MUL"}
FOLDED = "FOLDED"  # type of a BatchNorm absorbed into the layer before it


@dataclass(frozen=True)
class Tensor:
    """An activation tensor: ``shape`` with batch 1, ``dtype`` a NumPy name such as ``"float32"``."""

    name: str
    shape: tuple
    dtype: str

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * DTYPE_BYTES.get(self.dtype, 4)


@dataclass
class Op:
    """One operation, in TFLite vocabulary.

    Attributes
    ----------
    name, type : str
        Layer name and op type, e.g. ``("Conv1", "CONV_2D")``.
    inputs, outputs : list of str
        Names of activation tensors (weights are not listed).
    macs : int
        Multiply-accumulates for one sample.
    params : dict
        Stored weights as ``{dtype: element count}``.
    weights, biases : int
        Elements that a full-int8 conversion stores as int8 (weights) and int32 (biases).
    activation : str or None
        A fused activation, e.g. ``"RELU6"``.
    """

    name: str
    type: str
    inputs: list
    outputs: list
    macs: int = 0
    params: dict = field(default_factory=dict)
    weights: int = 0
    biases: int = 0
    activation: str | None = None


@dataclass
class Graph:
    """Ops in execution order, the activation tensors they exchange, and the model's format."""

    ops: list
    tensors: dict
    inputs: list
    outputs: list
    format: str


def count_macs(graph: Graph) -> int:
    """Multiply-accumulates for one inference (batch 1)."""
    return sum(op.macs for op in graph.ops)


def count_params(graph: Graph) -> int:
    """Number of stored weights, all dtypes together."""
    return sum(sum(op.params.values()) for op in graph.ops)


def bytes_by_dtype(graph: Graph) -> dict:
    """Weight bytes as stored, e.g. ``{"float32": 6764832}``."""
    totals = {}
    for op in graph.ops:
        for dtype, count in op.params.items():
            totals[dtype] = totals.get(dtype, 0) + count * DTYPE_BYTES.get(dtype, 4)
    return dict(sorted(totals.items()))


def int8_weight_bytes(graph: Graph) -> int:
    """Weight bytes after full-int8 quantisation: 1 byte per weight, 4 per (int32) bias."""
    return sum(op.weights + 4 * op.biases for op in graph.ops)


def activation_bytes_per_op(graph: Graph) -> list:
    """Bytes of activations alive while each op runs, in execution order: ``[(op_name, bytes), ...]``.

    A tensor is alive from the op that produces it (graph inputs from the start)
    until its last consumer has run (graph outputs until the end). While an op
    runs, its inputs and outputs are alive together with every tensor still
    waiting for a later consumer. Weights are not counted: on a microcontroller
    they stay in flash.
    """
    order = [op for op in graph.ops if op.inputs or op.outputs]
    last_use = {}
    for step, op in enumerate(order):
        for name in op.inputs:
            last_use[name] = step
    for name in graph.outputs:
        last_use[name] = len(order)
    alive = set(graph.inputs)
    timeline = []
    for step, op in enumerate(order):
        alive |= set(op.outputs)
        timeline.append((op.name, sum(graph.tensors[t].nbytes for t in alive)))
        alive = {t for t in alive if last_use.get(t, -1) > step}
    return timeline


def peak_activation_bytes(graph: Graph) -> tuple:
    """Largest memory held by activations at any op, and that op's name.

    The maximum of :func:`activation_bytes_per_op`: the lower bound of a tensor
    arena with no reuse of a tensor's memory inside one op.

    Returns
    -------
    (int, str)
        Peak bytes and the name of the op where it happens (the first, on a tie).
    """
    timeline = activation_bytes_per_op(graph)
    if not timeline:
        return sum(graph.tensors[t].nbytes for t in graph.inputs), None
    op_name, peak = max(timeline, key=lambda row: row[1])
    return peak, op_name


def fold_for_inference(graph: Graph) -> Graph:
    """Do what converters do to a trained float graph: fold BatchNorm, fuse activations.

    A ``BATCH_NORM`` right after a convolution or dense layer becomes part of
    its weights and bias (its op stays as :data:`FOLDED`, with no tensors, so
    its parameters still count); any other ``BATCH_NORM`` becomes ``MUL`` + ``ADD``.
    A ``RELU``/``RELU6`` after a convolution, dense layer or ``ADD`` is fused
    into it. Both only apply when nothing else reads the intermediate tensor.
    """
    producer = {t: op for op in graph.ops for t in op.outputs}
    readers = {}
    for op in graph.ops:
        for t in op.inputs:
            readers[t] = readers.get(t, 0) + 1
    ops = []
    for op in graph.ops:
        before = producer.get(op.inputs[0]) if op.inputs else None
        alone = before is not None and readers.get(op.inputs[0]) == 1 and op.inputs[0] not in graph.outputs
        if op.type == "BATCH_NORM" and alone and before.type in WEIGHTED_OPS and before.activation is None:
            shape = graph.tensors[op.outputs[0]].shape  # one bias per output channel
            channels_first = graph.format in ("onnx", "pytorch") and len(shape) > 2  # NCHW, not NHWC
            before.outputs, before.biases = op.outputs, shape[1 if channels_first else -1]
            producer[op.outputs[0]] = before
            ops.append(Op(op.name, FOLDED, [], [], params=op.params))
        elif op.type == "BATCH_NORM":
            ops += chain(
                op.name, ["MUL", "ADD"], op.inputs, op.outputs, graph.tensors, params=op.params, weights=op.weights
            )
        elif op.type in ("RELU", "RELU6") and alone and before.type in _FUSES_ACTIVATION and before.activation is None:
            before.outputs, before.activation = op.outputs, op.type
            producer[op.outputs[0]] = before
        else:
            ops.append(op)
    used = {t for op in ops for t in op.inputs + op.outputs} | set(graph.inputs) | set(graph.outputs)
    tensors = {name: t for name, t in graph.tensors.items() if name in used}
    return Graph(ops, tensors, graph.inputs, graph.outputs, graph.format)


def chain(name, types, inputs, outputs, tensors, **first_op_fields) -> list:
    """Ops of ``types`` run one after the other, e.g. ``Rescaling`` -> ``MUL``, ``ADD``.

    Intermediate tensors copy the shape of the first output and are added to
    ``tensors``; ``first_op_fields`` (macs, params...) go to the first op.
    """
    ops, current = [], list(inputs)
    for i, op_type in enumerate(types):
        if i == len(types) - 1:
            out = list(outputs)
        else:
            out = [f"{name}/{op_type.lower()}"]
            tensors[out[0]] = Tensor(out[0], tensors[outputs[0]].shape, tensors[outputs[0]].dtype)
        fields = first_op_fields if i == 0 else {}
        op_name = name if len(types) == 1 else f"{name}/{op_type.lower()}"
        ops.append(Op(op_name, op_type, current, out, **fields))
        current = out
    return ops
