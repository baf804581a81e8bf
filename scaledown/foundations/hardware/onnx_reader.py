"""Read an ONNX model into a :class:`~scaledown.foundations.hardware.graph.Graph`.

Shapes come from ``onnx.shape_inference``; initializers (and ``Constant``
nodes) are the weights. ONNX op types are mapped to TFLite names; an ONNX
op with no TFLite match keeps its ONNX name (e.g. ``Erf``).
"""

from math import prod

from scaledown.foundations.hardware.graph import Graph, Op, Tensor, fold_for_inference

_TYPES = {
    "Relu": "RELU",
    "Sigmoid": "LOGISTIC",
    "Tanh": "TANH",
    "Softmax": "SOFTMAX",
    "LogSoftmax": "LOG_SOFTMAX",
    "HardSwish": "HARD_SWISH",
    "LeakyRelu": "LEAKY_RELU",
    "PRelu": "PRELU",
    "Elu": "ELU",
    "Gelu": "GELU",
    "Add": "ADD",
    "Sub": "SUB",
    "Mul": "MUL",
    "Div": "DIV",
    "Max": "MAXIMUM",
    "Min": "MINIMUM",
    "Concat": "CONCATENATION",
    "GlobalAveragePool": "MEAN",
    "ReduceMean": "MEAN",
    "GlobalMaxPool": "REDUCE_MAX",
    "ReduceMax": "REDUCE_MAX",
    "MaxPool": "MAX_POOL_2D",
    "AveragePool": "AVERAGE_POOL_2D",
    "Flatten": "RESHAPE",
    "Reshape": "RESHAPE",
    "Squeeze": "RESHAPE",
    "Unsqueeze": "RESHAPE",
    "Transpose": "TRANSPOSE",
    "Pad": "PAD",
    "Slice": "STRIDED_SLICE",
    "Gather": "GATHER",
    "Shape": "SHAPE",
    "Cast": "CAST",
    "Exp": "EXP",
    "Sqrt": "SQRT",
    "Pow": "POW",
    "QuantizeLinear": "QUANTIZE",
    "DequantizeLinear": "DEQUANTIZE",
    "BatchNormalization": "BATCH_NORM",
    "Split": "SPLIT",
    "LSTM": "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "ConvTranspose": "TRANSPOSE_CONV",
    "QLinearMatMul": "FULLY_CONNECTED",
}
_IDENTITY = {"Identity", "Dropout"}
# ONNX op -> (position of its weight input, position of its bias input).
_WEIGHT_POSITIONS = {
    "Conv": (1, 2),
    "ConvInteger": (1, None),
    "ConvTranspose": (1, 2),
    "Gemm": (1, 2),
    "MatMul": (1, None),
    "MatMulInteger": (1, None),
    "QLinearConv": (3, 8),
    "QLinearMatMul": (3, None),
}


def read_onnx(model) -> Graph:
    """Graph of an ``onnx.ModelProto`` (batch size 1; symbolic dimensions count as 1)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.shape_inference.infer_shapes(model)
    g = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for node in g.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    tensors = {}
    for info in list(g.input) + list(g.value_info) + list(g.output):
        if info.name in constants:
            continue
        t = info.type.tensor_type
        shape = tuple(max(d.dim_value, 1) for d in t.shape.dim)
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
        tensors[info.name] = Tensor(info.name, shape, dtype)

    alias, ops, counted = {}, [], set()
    for index, node in enumerate(g.node):
        if node.op_type == "Constant":
            continue
        ins = [alias.get(n, n) for n in node.input]  # "" = optional input left out
        if node.op_type in _IDENTITY:
            alias[node.output[0]] = ins[0]
            continue
        if node.op_type == "DequantizeLinear" and ins[0] in constants:
            # QDQ models store int8 weights and dequantize them on the fly: the weight is the int8 array.
            constants[node.output[0]] = constants[ins[0]]
            continue
        kind = _op_type(node, constants)
        op = Op(
            node.name or f"{node.op_type}_{index}",
            kind,
            [n for n in ins if n and n not in constants and n in tensors],
            [n for n in node.output if n in tensors],
        )
        weight_at, bias_at = _WEIGHT_POSITIONS.get(node.op_type, (None, None))
        for position, n in enumerate(ins):
            array = constants.get(n)
            if array is None or n in counted or array.dtype.name == "int64":
                continue
            if weight_at is None and array.size == 1:
                continue  # a scalar such as a quantisation scale, not a weight
            if weight_at is not None and position not in (weight_at, bias_at):
                continue
            counted.add(n)
            op.params[array.dtype.name] = op.params.get(array.dtype.name, 0) + array.size
            if position == bias_at:
                op.biases += array.size
            else:
                op.weights += array.size
        op.macs = _macs(node, kind, ins, op.outputs, tensors, constants)
        ops.append(op)
    inputs = [i.name for i in g.input if i.name not in constants]
    outputs = [alias.get(o.name, o.name) for o in g.output]
    return fold_for_inference(Graph(ops, tensors, inputs, outputs, "onnx"))


def _op_type(node, constants) -> str:
    if node.op_type in ("Conv", "QLinearConv", "ConvInteger"):
        weight = constants.get(node.input[3 if node.op_type == "QLinearConv" else 1])
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        return "DEPTHWISE_CONV_2D" if group > 1 and weight is not None and weight.shape[1] == 1 else "CONV_2D"
    if node.op_type in ("Gemm", "MatMul", "MatMulInteger"):
        return "FULLY_CONNECTED" if node.input[1] in constants else "BATCH_MATMUL"
    if node.op_type == "Clip":
        low, high = (constants.get(n) if n else None for n in (list(node.input) + ["", ""])[1:3])
        bounds = (None if low is None else float(low), None if high is None else float(high))
        return {(0.0, 6.0): "RELU6", (0.0, None): "RELU", (-1.0, 1.0): "RELU_N1_TO_1"}.get(bounds, "Clip")
    if node.op_type == "Resize":
        mode = next((a.s.decode() for a in node.attribute if a.name == "mode"), "nearest")
        return "RESIZE_BILINEAR" if mode == "linear" else "RESIZE_NEAREST_NEIGHBOR"
    return _TYPES.get(node.op_type, node.op_type)


def _macs(node, kind, ins, outs, tensors, constants) -> int:
    if not outs:
        return 0
    out = prod(tensors[outs[0]].shape)
    if node.op_type in ("Conv", "ConvInteger", "QLinearConv"):  # weights (C_out, C_in/groups, kh, kw)
        weight = constants[ins[3 if node.op_type == "QLinearConv" else 1]]
        return out * prod(weight.shape[1:])
    if kind == "FULLY_CONNECTED" and node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return out * constants[ins[1]].shape[1 if trans_b else 0]
    if kind in ("FULLY_CONNECTED", "BATCH_MATMUL") and ins[0] in tensors:
        return out * tensors[ins[0]].shape[-1]
    return 0
