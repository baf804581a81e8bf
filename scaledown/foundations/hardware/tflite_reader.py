"""Read a ``.tflite`` flatbuffer into a :class:`~scaledown.foundations.hardware.graph.Graph` with LiteRT.

The file already holds what a converter produced: ops (with BatchNorm folded and
activations fused), tensor shapes and dtypes. Constants, the tensors no op
produces and that are no model input, are the weights.
"""

from math import prod

from scaledown.foundations.hardware.graph import WEIGHTED_OPS, Graph, Op, Tensor


def read_tflite(content: bytes) -> Graph:
    """Graph of a TensorFlow Lite model given as the bytes of a ``.tflite`` file."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(content))
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    op_details = interpreter._get_ops_details()
    produced = {i for op in op_details for i in op["outputs"]}
    model_inputs = [d["index"] for d in interpreter.get_input_details()]
    is_constant = {i: i not in produced and i not in model_inputs for i in details}

    names = {}
    for index, d in details.items():
        name = d["name"] or f"tensor_{index}"
        names[index] = name if name not in names.values() else f"{name}#{index}"
    shape = {i: tuple(max(int(s), 1) for s in d["shape"]) for i, d in details.items()}
    tensors = {
        names[i]: Tensor(names[i], shape[i], d["dtype"].__name__) for i, d in details.items() if not is_constant[i]
    }

    ops, counted = [], set()
    for op in op_details:
        kind, ins, outs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        op_obj = Op(
            f"{kind} #{op['index']}",
            kind,
            [names[i] for i in ins if i >= 0 and not is_constant[i]],
            [names[i] for i in outs],
        )
        for position, i in enumerate(ins):
            if i < 0 or not is_constant[i] or i in counted:
                continue
            dtype = details[i]["dtype"].__name__
            if kind not in WEIGHTED_OPS and dtype in ("int32", "int64"):
                continue  # shapes, axes and paddings, not weights
            counted.add(i)
            op_obj.params[dtype] = op_obj.params.get(dtype, 0) + prod(shape[i])
            is_bias = kind in WEIGHTED_OPS and position == (3 if kind == "TRANSPOSE_CONV" else 2)
            if is_bias:
                op_obj.biases += prod(shape[i])
            else:
                op_obj.weights += prod(shape[i])
        op_obj.macs = _macs(kind, ins, outs, shape)
        ops.append(op_obj)
    outputs = [names[d["index"]] for d in interpreter.get_output_details()]
    return Graph(ops, tensors, [names[i] for i in model_inputs], outputs, "tflite")


def _macs(kind, ins, outs, shape) -> int:
    out = prod(shape[outs[0]])
    if kind == "CONV_2D":  # weights (C_out, kh, kw, C_in/groups)
        return out * prod(shape[ins[1]][1:])
    if kind == "DEPTHWISE_CONV_2D":  # weights (1, kh, kw, C_out)
        return out * prod(shape[ins[1]][1:3])
    if kind == "FULLY_CONNECTED":  # weights (out, in)
        return out * shape[ins[1]][-1]
    if kind == "BATCH_MATMUL":
        return out * shape[ins[0]][-1]
    if kind == "TRANSPOSE_CONV":  # inputs (output_shape, weights (C_out, kh, kw, C_in), input)
        return prod(shape[ins[2]]) * prod(shape[ins[1]][:3])
    return 0
