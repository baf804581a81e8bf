"""Where the bytes of a model file go: weights, other constants, and the graph around them.

int8 weights take a quarter of the bytes of float32 ones, but a file holds more
than weights. ``size_breakdown`` splits a ``.tflite``, ``.onnx`` or OpenVINO IR
into three parts that add up to the bytes on disk:

``weights``
    the data of the constant tensors with two or more dimensions: convolution
    and dense kernels (int8 or float32);
``other_constants``
    the other constant data: biases (int32 in an int8 model), scales and zero
    points (one of each per output channel when quantized per channel), shapes;
``graph``
    everything else: the list of ops, tensor names and shapes, the container
    format (flatbuffer tables, protobuf framing, OpenVINO's XML).

For a large model the weights dominate and an int8 file is close to 25% of the
float one; for a model with a few thousand parameters the other two parts do,
and the ratio is much higher. Run ``size_breakdown`` on both files to see which
case you are in.
"""

import pathlib


def size_breakdown(path):
    """Split the bytes of a model file into weights, other constants and graph.

    Parameters
    ----------
    path : str or Path
        A ``.tflite``, ``.onnx`` or OpenVINO ``.xml`` (its ``.bin`` beside it).

    Returns
    -------
    dict
        ``file``, ``weights``, ``other_constants``, ``graph`` (ints, bytes;
        ``weights + other_constants + graph == file``).
    """
    path = pathlib.Path(path)
    readers = {".tflite": _tflite_constants, ".onnx": _onnx_constants, ".xml": _openvino_constants}
    if path.suffix not in readers:
        raise ValueError(
            f"path={str(path)!r} is not a model file size_breakdown reads; use a .tflite, .onnx or OpenVINO .xml file."
        )
    file_bytes = path.stat().st_size + (path.with_suffix(".bin").stat().st_size if path.suffix == ".xml" else 0)
    weights, other = readers[path.suffix](path)
    return {"file": file_bytes, "weights": weights, "other_constants": other, "graph": file_bytes - weights - other}


def _split(tensors):
    """``(weights, other)`` bytes from ``(shape, nbytes)`` pairs of constant tensors.

    A weight is a tensor with at least two dimensions longer than 1: a kernel,
    not a bias ``(C,)`` nor a per-channel scale stored as ``(C, 1, 1, 1)``.
    """
    weights = sum(nbytes for shape, nbytes in tensors if sum(d > 1 for d in shape) >= 2)
    return int(weights), int(sum(nbytes for _, nbytes in tensors) - weights)


def _tflite_constants(path):
    # A tensor's constant data sits in the buffer it points to; per-channel scales
    # and zero points sit in the tensor's quantization table (float32 and int64 each).
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    tensors, counted = [], set()
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            buffer = model.Buffers(tensor.Buffer())
            data = buffer.DataLength() or buffer.Size()
            if data and tensor.Buffer() not in counted:
                counted.add(tensor.Buffer())
                tensors.append((tuple(tensor.ShapeAsNumpy()) if tensor.ShapeLength() else (), data))
            quantization = tensor.Quantization()
            if quantization is not None:
                tensors.append(((), 4 * quantization.ScaleLength() + 8 * quantization.ZeroPointLength()))
    return _split(tensors)


def _onnx_constants(path):
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    arrays = [numpy_helper.to_array(t) for t in graph.initializer]
    arrays += [
        numpy_helper.to_array(node.attribute[0].t)
        for node in graph.node
        if node.op_type == "Constant" and node.attribute and node.attribute[0].type == onnx.AttributeProto.TENSOR
    ]
    return _split([(a.shape, a.nbytes) for a in arrays])


def _openvino_constants(path):
    import openvino

    model = openvino.Core().read_model(str(path))
    tensors = [
        (tuple(op.get_output_shape(0)), op.get_byte_size())
        for op in model.get_ops()
        if op.get_type_name() == "Constant"
    ]
    return _split(tensors)


def weight_payload_ratio(int8_path, float_path):
    """``weights(int8) / weights(float)``: the share of the float weight bytes the int8 file needs (≈ 0.25)."""
    return size_breakdown(int8_path)["weights"] / size_breakdown(float_path)["weights"]
