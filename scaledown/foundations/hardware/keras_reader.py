"""Read a Keras 3 model into a :class:`~scaledown.foundations.hardware.graph.Graph`.

Walks the functional graph node by node (nested models included), maps each
layer to the TFLite ops the converter would emit, and takes shapes from the
layers' symbolic inputs and outputs.
"""

from math import prod

from scaledown.foundations.hardware.graph import Graph, Op, Tensor, chain, fold_for_inference

# Keras activation name -> TFLite ops ([] = nothing to run).
_ACTIVATIONS = {
    "linear": [],
    "relu": ["RELU"],
    "relu6": ["RELU6"],
    "sigmoid": ["LOGISTIC"],
    "tanh": ["TANH"],
    "softmax": ["SOFTMAX"],
    "log_softmax": ["LOG_SOFTMAX"],
    "elu": ["ELU"],
    "leaky_relu": ["LEAKY_RELU"],
    "hard_swish": ["HARD_SWISH"],
    "hard_silu": ["HARD_SWISH"],
    "silu": ["LOGISTIC", "MUL"],
    "swish": ["LOGISTIC", "MUL"],
    "gelu": ["GELU"],
    "exponential": ["EXP"],
}
# Layer class -> TFLite ops, for layers without weights to count.
_SIMPLE = {
    "Add": ["ADD"],
    "Subtract": ["SUB"],
    "Multiply": ["MUL"],
    "Maximum": ["MAXIMUM"],
    "Minimum": ["MINIMUM"],
    "Average": ["ADD", "MUL"],
    "Concatenate": ["CONCATENATION"],
    "ZeroPadding1D": ["PAD"],
    "ZeroPadding2D": ["PAD"],
    "MaxPooling1D": ["MAX_POOL_2D"],
    "MaxPooling2D": ["MAX_POOL_2D"],
    "AveragePooling1D": ["AVERAGE_POOL_2D"],
    "AveragePooling2D": ["AVERAGE_POOL_2D"],
    "GlobalAveragePooling1D": ["MEAN"],
    "GlobalAveragePooling2D": ["MEAN"],
    "GlobalMaxPooling1D": ["REDUCE_MAX"],
    "GlobalMaxPooling2D": ["REDUCE_MAX"],
    "Reshape": ["RESHAPE"],
    "Flatten": ["RESHAPE"],
    "Permute": ["TRANSPOSE"],
    "Cropping1D": ["STRIDED_SLICE"],
    "Cropping2D": ["STRIDED_SLICE"],
    "Softmax": ["SOFTMAX"],
    "ELU": ["ELU"],
    "LeakyReLU": ["LEAKY_RELU"],
    "Rescaling": ["MUL", "ADD"],
    "Normalization": ["SUB", "MUL"],
    "Resizing": ["RESIZE_BILINEAR"],
    "Embedding": ["GATHER"],
    "PReLU": ["PRELU"],
    "BatchNormalization": ["BATCH_NORM"],
    "LSTM": ["UNIDIRECTIONAL_SEQUENCE_LSTM"],
}
# Layers that do nothing at inference time.
_IDENTITY = {
    "InputLayer",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Identity",
}


def read_keras(model, input_shape=None) -> Graph:
    """Graph of a Keras 3 functional or Sequential model (batch size 1).

    Parameters
    ----------
    model : keras.Model
        A functional or Sequential model; a Sequential model without an
        ``Input`` is built with ``input_shape``.
    input_shape : tuple of int, optional
        Input shape including the batch, e.g. ``(1, 96, 96, 3)``.
    """
    import keras

    if isinstance(model, keras.Sequential) and not model.inputs:
        if input_shape is None:
            raise ValueError(
                "The Sequential model has no input shape: start it with "
                "keras.Input(shape=...) or pass input_shape=(1, ...)."
            )
        model.build((None, *input_shape[1:]))
    if not hasattr(_functional(model), "_nodes_by_depth"):
        raise ValueError(
            f"Cannot read the subclassed Keras model {model.name!r}: build it with "
            "the functional or Sequential API, or profile its .tflite file."
        )
    graph = Graph([], {}, [], [], "keras")
    names = [_add_tensor(graph, t, f"input_{i}") for i, t in enumerate(model.inputs)]
    graph.inputs = names
    graph.outputs = _walk(keras, _functional(model), names, graph)
    return fold_for_inference(graph)


def _functional(model):
    return getattr(model, "_functional", None) or model


def _add_tensor(graph, keras_tensor, name) -> str:
    shape = tuple(1 if d is None else int(d) for d in keras_tensor.shape)
    graph.tensors[name] = Tensor(name, shape, str(keras_tensor.dtype))
    return name


def _walk(keras, functional, input_names, graph) -> list:
    """Append the ops of ``functional`` to ``graph``; return its output tensor names."""
    names = {id(t): n for t, n in zip(functional.inputs, input_names)}
    for depth in sorted(functional._nodes_by_depth, reverse=True):
        for node in functional._nodes_by_depth[depth]:
            layer, kind = node.operation, type(node.operation).__name__
            inputs = [names[id(t)] for t in node.input_tensors]
            if isinstance(layer, keras.Model):
                outs = _walk(keras, _functional(layer), inputs, graph)
                names.update({id(t): n for t, n in zip(node.output_tensors, outs)})
                continue
            types = _layer_types(layer, kind)
            if types is None:
                names.update({id(t): inputs[0] for t in node.output_tensors if inputs})
                continue
            outs = [
                _add_tensor(graph, t, layer.name if i == 0 else f"{layer.name}:{i}")
                for i, t in enumerate(node.output_tensors)
            ]
            names.update({id(t): n for t, n in zip(node.output_tensors, outs)})
            graph.ops += _layer_ops(layer, kind, types, inputs, outs, graph.tensors)
    return [names[id(t)] for t in functional.outputs]


def _layer_types(layer, kind):
    """TFLite op types for a layer, ``None`` for a no-op, ``[kind]`` if unknown."""
    if kind in _IDENTITY:
        return None
    if kind == "Activation":
        name = getattr(layer.activation, "__name__", str(layer.activation))
        return _ACTIVATIONS.get(name, [name]) or None
    if kind == "ReLU":
        if layer.negative_slope:
            return ["LEAKY_RELU"]
        return ["RELU6"] if layer.max_value == 6 else ["RELU"]
    if kind in ("Conv1D", "Conv2D"):
        return ["CONV_2D"]
    if kind == "DepthwiseConv2D":
        return ["DEPTHWISE_CONV_2D"]
    if kind == "SeparableConv2D":
        return ["DEPTHWISE_CONV_2D", "CONV_2D"]
    if kind == "Dense":
        return ["FULLY_CONNECTED"]
    if kind in ("Conv2DTranspose", "Conv1DTranspose"):
        return ["TRANSPOSE_CONV"]
    if kind == "UpSampling2D":
        return ["RESIZE_BILINEAR" if layer.interpolation == "bilinear" else "RESIZE_NEAREST_NEIGHBOR"]
    return _SIMPLE.get(kind, [kind])


def _layer_ops(layer, kind, types, inputs, outputs, tensors) -> list:
    """The ops of one layer, with its MACs and weights on the first (or weighted) op."""
    params = {}
    for w in layer.weights:
        params[str(w.dtype)] = params.get(str(w.dtype), 0) + prod(w.shape)
    n_params = sum(params.values())
    out_elements = prod(tensors[outputs[0]].shape)
    fields = {"params": params, "weights": n_params}
    activation = getattr(layer, "activation", None) if kind != "Activation" else None
    act_types = _ACTIVATIONS.get(getattr(activation, "__name__", "linear"), ["UNKNOWN_ACTIVATION"])

    if kind == "SeparableConv2D":
        dw, pw = layer.depthwise_kernel, layer.pointwise_kernel
        dw_shape = tensors[outputs[0]].shape[:-1] + (dw.shape[2] * dw.shape[3],)
        mid = f"{layer.name}/depthwise"
        tensors[mid] = Tensor(mid, dw_shape, tensors[outputs[0]].dtype)
        biases = layer.filters if layer.use_bias else 0
        ops = [
            Op(
                mid,
                "DEPTHWISE_CONV_2D",
                inputs,
                [mid],
                macs=prod(dw_shape) * prod(dw.shape[:2]),
                params=params,
                weights=prod(dw.shape),
            ),
            Op(
                layer.name,
                "CONV_2D",
                [mid],
                outputs,
                macs=out_elements * pw.shape[2],
                weights=prod(pw.shape),
                biases=biases,
            ),
        ]
        return ops + _activation_ops(ops[-1], act_types, tensors)
    if types[0] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
        kernel = layer.kernel
        if types[0] == "CONV_2D" or types[0] == "FULLY_CONNECTED":
            macs = out_elements * prod(kernel.shape[:-1])  # (kh, kw, C_in/groups, C_out) or (in, out)
        elif types[0] == "DEPTHWISE_CONV_2D":
            macs = out_elements * prod(kernel.shape[:-2])  # (kh, kw, C_in, multiplier)
        else:
            macs = prod(tensors[inputs[0]].shape) * prod(kernel.shape[:-1])
        biases = prod(layer.bias.shape) if getattr(layer, "bias", None) is not None else 0
        op = Op(
            layer.name, types[0], inputs, outputs, macs=macs, params=params, weights=n_params - biases, biases=biases
        )
        return [op] + _activation_ops(op, act_types, tensors)
    return chain(layer.name, types, inputs, outputs, tensors, **fields)


def _activation_ops(op, act_types, tensors) -> list:
    """Split a layer's built-in ``activation=`` into its own ops after ``op``."""
    if not act_types:
        return []
    out = op.outputs
    op.outputs = [f"{op.name}/preactivation"]
    tensors[op.outputs[0]] = Tensor(op.outputs[0], tensors[out[0]].shape, tensors[out[0]].dtype)
    return chain(f"{op.name}/{act_types[0].lower()}", act_types, op.outputs, out, tensors)
