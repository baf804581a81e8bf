"""Read a PyTorch ``nn.Module`` into a :class:`~scaledown.foundations.hardware.graph.Graph`.

``torch.fx`` traces the model's forward pass on an example input and records
every module call and tensor operation with its shape. Models fx cannot trace
(data-dependent control flow) fall back to forward hooks, which see modules
only: an ``x + y`` written in ``forward`` is then missed.
"""

from math import prod

from scaledown.foundations.hardware.graph import Graph, Op, Tensor, fold_for_inference

_MODULES = {
    "Linear": "FULLY_CONNECTED",
    "BatchNorm1d": "BATCH_NORM",
    "BatchNorm2d": "BATCH_NORM",
    "ReLU": "RELU",
    "ReLU6": "RELU6",
    "Sigmoid": "LOGISTIC",
    "Tanh": "TANH",
    "Softmax": "SOFTMAX",
    "LogSoftmax": "LOG_SOFTMAX",
    "Hardswish": "HARD_SWISH",
    "LeakyReLU": "LEAKY_RELU",
    "PReLU": "PRELU",
    "ELU": "ELU",
    "GELU": "GELU",
    "MaxPool1d": "MAX_POOL_2D",
    "MaxPool2d": "MAX_POOL_2D",
    "AvgPool1d": "AVERAGE_POOL_2D",
    "AvgPool2d": "AVERAGE_POOL_2D",
    "AdaptiveAvgPool1d": "MEAN",
    "AdaptiveAvgPool2d": "MEAN",
    "Flatten": "RESHAPE",
    "ZeroPad2d": "PAD",
    "ConstantPad2d": "PAD",
    "ConvTranspose2d": "TRANSPOSE_CONV",
    "Embedding": "GATHER",
    "LSTM": "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "Upsample": "RESIZE_NEAREST_NEIGHBOR",
}
# Functions and tensor methods, by name.
_FUNCTIONS = {
    "add": "ADD",
    "iadd": "ADD",
    "add_": "ADD",
    "sub": "SUB",
    "mul": "MUL",
    "mul_": "MUL",
    "truediv": "DIV",
    "div": "DIV",
    "cat": "CONCATENATION",
    "concat": "CONCATENATION",
    "flatten": "RESHAPE",
    "view": "RESHAPE",
    "reshape": "RESHAPE",
    "squeeze": "RESHAPE",
    "unsqueeze": "RESHAPE",
    "relu": "RELU",
    "relu_": "RELU",
    "relu6": "RELU6",
    "sigmoid": "LOGISTIC",
    "tanh": "TANH",
    "softmax": "SOFTMAX",
    "log_softmax": "LOG_SOFTMAX",
    "gelu": "GELU",
    "hardswish": "HARD_SWISH",
    "leaky_relu": "LEAKY_RELU",
    "mean": "MEAN",
    "adaptive_avg_pool2d": "MEAN",
    "max_pool2d": "MAX_POOL_2D",
    "avg_pool2d": "AVERAGE_POOL_2D",
    "permute": "TRANSPOSE",
    "transpose": "TRANSPOSE",
    "pad": "PAD",
    "matmul": "BATCH_MATMUL",
    "interpolate": "RESIZE_NEAREST_NEIGHBOR",
}
_IDENTITY = {"Dropout", "Dropout2d", "Identity", "dropout", "contiguous", "clone"}


def read_torch(model, input_shape) -> Graph:
    """Graph of a PyTorch model run on ``torch.zeros(input_shape)``.

    Parameters
    ----------
    model : torch.nn.Module
        The model; it is switched to ``eval()`` mode.
    input_shape : tuple of int
        Example input shape including the batch, e.g. ``(1, 1, 32, 32)``.
    """
    import torch

    if input_shape is None:
        raise ValueError(
            "A PyTorch model needs an example input: pass input_shape=(1, ...), e.g. input_shape=(1, 3, 96, 96)."
        )
    model.eval()
    example = torch.zeros(tuple(input_shape))
    try:
        graph = _read_with_fx(model, example)
    except Exception:  # fx cannot trace data-dependent Python: watch module calls instead
        graph = _read_with_hooks(model, example)
    return fold_for_inference(graph)


def _tensor(name, value) -> Tensor:
    return Tensor(name, tuple(int(d) for d in value.shape), str(value.dtype).replace("torch.", ""))


def _module_op(module, name, inputs, outputs, tensors) -> Op:
    """Op for one module call, with its weights and MACs."""
    kind = type(module).__name__
    op_type = _MODULES.get(kind, kind)
    if kind in ("Conv1d", "Conv2d"):
        depthwise = module.groups > 1 and module.groups == module.in_channels == module.out_channels
        op_type = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    if kind == "Hardtanh" and (module.min_val, module.max_val) == (0.0, 6.0):
        op_type = "RELU6"
    if kind == "AdaptiveAvgPool2d" and module.output_size not in (1, (1, 1)):
        op_type = "AVERAGE_POOL_2D"
    op = Op(name, op_type, inputs, outputs)
    for p_name, p in module.named_parameters(recurse=False):
        dtype = str(p.dtype).replace("torch.", "")
        op.params[dtype] = op.params.get(dtype, 0) + p.numel()
        if p_name == "bias" and op_type in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
            op.biases += p.numel()
        else:
            op.weights += p.numel()
    if op_type in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and outputs:
        # weight (C_out, C_in/groups, kh, kw) or (out, in): MACs per output element
        op.macs = prod(tensors[outputs[0]].shape) * (module.weight[0].numel())
    if op_type == "TRANSPOSE_CONV" and inputs:
        op.macs = prod(tensors[inputs[0]].shape) * module.weight[0].numel()
    return op


def _read_with_fx(model, example) -> Graph:
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    traced = torch.fx.symbolic_trace(model)
    ShapeProp(traced).propagate(example)
    modules = dict(traced.named_modules())
    graph = Graph([], {}, [], [], "pytorch")
    alias, attributes = {}, {}
    for node in traced.graph.nodes:
        meta = node.meta.get("tensor_meta")
        if node.op == "output":
            graph.outputs = [alias.get(n.name, n.name) for n in node.all_input_nodes]
            continue
        if node.op == "get_attr":
            attributes[node.name] = getattr(traced, node.target)
            continue
        if not hasattr(meta, "shape"):  # sizes, tuples: not a tensor
            continue
        if node.op == "placeholder":
            graph.tensors[node.name] = Tensor(node.name, tuple(meta.shape), str(meta.dtype)[6:])
            graph.inputs.append(node.name)
            continue
        inputs = [alias.get(n.name, n.name) for n in node.all_input_nodes if alias.get(n.name, n.name) in graph.tensors]
        target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        if node.op == "call_module":
            kind = type(modules[node.target]).__name__
        else:
            kind = target
        if kind in _IDENTITY and inputs:
            alias[node.name] = inputs[0]
            continue
        graph.tensors[node.name] = Tensor(node.name, tuple(meta.shape), str(meta.dtype)[6:])
        if node.op == "call_module":
            op = _module_op(modules[node.target], node.target, inputs, [node.name], graph.tensors)
        else:
            op = Op(node.name, _FUNCTIONS.get(kind, kind), inputs, [node.name])
        for n in node.all_input_nodes:  # parameters used directly in forward()
            if n.name in attributes and hasattr(attributes[n.name], "numel"):
                value = attributes.pop(n.name)
                dtype = str(value.dtype)[6:]
                op.params[dtype] = op.params.get(dtype, 0) + value.numel()
                op.weights += value.numel()
        graph.ops.append(op)
    return graph


def _read_with_hooks(model, example) -> Graph:
    import torch

    graph = Graph([], {}, ["input"], [], "pytorch")
    graph.tensors["input"] = _tensor("input", example)
    names = {id(example): "input"}
    keep = [example]  # keep tensors alive so their id() stays unique

    def hook(module, args, output):
        inputs = [names[id(a)] for a in args if isinstance(a, torch.Tensor) and id(a) in names]
        name = f"{module_names[module]}"
        if type(module).__name__ in _IDENTITY:
            names[id(output)] = inputs[0] if inputs else name
        else:
            graph.tensors[name] = _tensor(name, output)
            names[id(output)] = name
            graph.ops.append(_module_op(module, name, inputs, [name], graph.tensors))
        keep.append(output)

    module_names = {m: n for n, m in model.named_modules() if not list(m.children())}
    handles = [m.register_forward_hook(hook) for m in module_names]
    try:
        with torch.no_grad():
            output = model(example)
    finally:
        for h in handles:
            h.remove()
    graph.outputs = [names.get(id(output), graph.ops[-1].outputs[0] if graph.ops else "input")]
    return graph
