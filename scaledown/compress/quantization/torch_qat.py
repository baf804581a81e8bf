"""Quantization-aware training (QAT) in PyTorch, written out by hand.

During QAT the network computes in float but every weight and activation goes
through *fake quantization* ``x̂ = s·(clip(round(x/s) + z, qmin, qmax) − z)``,
so the loss sees the int8 rounding and clipping and training learns to live
with them. ``round`` has zero gradient almost everywhere, so the backward pass
uses the *straight-through estimator* (STE): the gradient passes unchanged
where ``x`` is inside the clipping range and is zero where it was clipped.

* Weights: symmetric, per output channel, range from the current weights.
* Activations: affine, per tensor, range from a moving average of batch
  min/max (updated in ``train()`` mode, frozen in ``eval()`` mode).

``prepare_qat(model)`` folds batch norms, wraps ``Conv2d``/``Linear`` with a
weight fake-quantizer and puts an activation fake-quantizer on the input and
after each activation; ``export_qdq_onnx`` writes the result as an ONNX model
with QuantizeLinear/DequantizeLinear nodes and int8 weights.
"""

import copy
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scaledown.compress.quantization.arithmetic import integer_range
from scaledown.compress.quantization.batchnorm import fold_conv_bn_torch
from scaledown.compress.quantization.onnx import export_onnx


class _RoundWithSTE(torch.autograd.Function):
    """Fake quantization whose backward pass is the straight-through estimator."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        q = torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)
        low, high = (qmin - zero_point) * scale, (qmax - zero_point) * scale
        ctx.save_for_backward((x >= low) & (x <= high))
        return (q - zero_point) * scale

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return grad_output * inside, None, None, None, None  # identity inside the range, 0 where clipped


def fake_quantize_ste(x, scale, zero_point, qmin=-128, qmax=127):
    """``s·(clip(round(x/s) + z, qmin, qmax) − z)`` with STE gradients; ``scale``/``zero_point`` broadcast to ``x``."""
    return _RoundWithSTE.apply(x, scale, zero_point, qmin, qmax)


class FakeQuantize(nn.Module):
    """Fake-quantize a tensor to ``num_bits``, learning its range from what flows through.

    Parameters
    ----------
    num_bits : int
    symmetric : bool
        ``z = 0`` and range ``[−a, a]`` (weights) instead of affine (activations).
    axis : int or None
        Per-channel axis (0 for weights ``(out, ...)``); None for per-tensor.
    momentum : float or None
        Moving-average weight of each new batch's min/max; None uses the
        current tensor's min/max every time (weights).
    """

    def __init__(self, num_bits=8, symmetric=False, axis=None, momentum=0.01):
        super().__init__()
        self.num_bits, self.symmetric, self.axis, self.momentum = num_bits, symmetric, axis, momentum
        self.qmin, self.qmax = integer_range(num_bits, narrow_range=symmetric)
        self.register_buffer("min_val", torch.tensor(float("inf")))
        self.register_buffer("max_val", torch.tensor(float("-inf")))
        self.register_buffer("scale", torch.tensor(1.0))
        self.register_buffer("zero_point", torch.tensor(0, dtype=torch.int32))

    @torch.no_grad()
    def _observe(self, x):
        if self.axis is None:
            low, high = x.min(), x.max()
        else:
            rows = x.detach().transpose(0, self.axis).reshape(x.shape[self.axis], -1)
            low, high = rows.min(dim=1).values, rows.max(dim=1).values
        if self.momentum is None or not torch.isfinite(self.min_val).all():
            self.min_val, self.max_val = low, high
        else:
            self.min_val = self.min_val + self.momentum * (low - self.min_val)
            self.max_val = self.max_val + self.momentum * (high - self.max_val)
        # The same formulas as arithmetic.quantization_params, in torch.
        low, high = torch.clamp(self.min_val, max=0.0), torch.clamp(self.max_val, min=0.0)
        if self.symmetric:
            scale = torch.maximum(-low, high) / self.qmax
        else:
            scale = (high - low) / (self.qmax - self.qmin)
        self.scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        zero_point = (
            0 * low if self.symmetric else torch.clamp(torch.round(self.qmin - low / self.scale), self.qmin, self.qmax)
        )
        self.zero_point = zero_point.to(torch.int32)

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return self._onnx_forward(x)
        if self.training or self.momentum is None or not torch.isfinite(self.min_val).all():
            self._observe(x)
        if self.axis is None:
            scale, zero_point = self.scale, self.zero_point
        else:
            shape = [1] * x.dim()
            shape[self.axis] = -1
            scale, zero_point = self.scale.reshape(shape), self.zero_point.reshape(shape)
        return fake_quantize_ste(x, scale, zero_point.float(), self.qmin, self.qmax)

    def _onnx_forward(self, x):
        # torch's built-in fake-quantize ops export as QuantizeLinear + DequantizeLinear.
        # ONNX int8 is -128..127; narrow-range values never reach -128, so the result is the same.
        if self.axis is None:
            return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, -128, 127)
        return torch.fake_quantize_per_channel_affine(x, self.scale, self.zero_point, self.axis, -128, 127)

    def extra_repr(self):
        return f"num_bits={self.num_bits}, symmetric={self.symmetric}, axis={self.axis}"


class QuantConv2d(nn.Module):
    """A ``Conv2d`` whose weights are fake-quantized (symmetric, per output channel) on every forward."""

    def __init__(self, conv, num_bits=8):
        super().__init__()
        self.conv = conv
        self.weight_quant = FakeQuantize(num_bits, symmetric=True, axis=0, momentum=None)

    def forward(self, x):
        c = self.conv
        return F.conv2d(x, self.weight_quant(c.weight), c.bias, c.stride, c.padding, c.dilation, c.groups)


class QuantLinear(nn.Module):
    """A ``Linear`` whose weights are fake-quantized (symmetric, per output channel) on every forward."""

    def __init__(self, linear, num_bits=8):
        super().__init__()
        self.linear = linear
        self.weight_quant = FakeQuantize(num_bits, symmetric=True, axis=0, momentum=None)

    def forward(self, x):
        return F.linear(x, self.weight_quant(self.linear.weight), self.linear.bias)


_ACTIVATIONS = (nn.ReLU, nn.ReLU6)
_OUTPUT_QUANTIZED = _ACTIVATIONS + (nn.AdaptiveAvgPool2d, nn.AvgPool2d)


def _quantize_children(module, num_bits):
    """Rewrite ``module``'s children in place: quantized weights, and a FakeQuantize after each output
    that an int8 runtime stores (activations, pools, and conv/linear outputs not followed by an activation)."""
    children = list(module._modules.items())
    rewritten = []
    for index, (name, child) in enumerate(children):
        following = children[index + 1][1] if index + 1 < len(children) else None
        if isinstance(child, nn.Conv2d):
            child = QuantConv2d(child, num_bits)
        elif isinstance(child, nn.Linear):
            child = QuantLinear(child, num_bits)
        else:
            _quantize_children(child, num_bits)
        output_stored = isinstance(child, _OUTPUT_QUANTIZED) or (
            isinstance(child, (QuantConv2d, QuantLinear)) and not isinstance(following, _ACTIVATIONS)
        )
        if getattr(child, "use_residual", False):  # the course's InvertedResidual: quantize the sum
            output_stored = True
        rewritten.append((name, nn.Sequential(child, FakeQuantize(num_bits)) if output_stored else child))
    module._modules.clear()
    module._modules.update(rewritten)


def prepare_qat(model, num_bits=8):
    """A QAT copy of a float ``model``: BN folded, fake quantization on weights and activations.

    The copy is ``nn.Sequential(input_quant=FakeQuantize(), model=...)``. Train
    it as usual (``scaledown.foundations.training.train_torch``) with a small learning rate;
    the activation ranges are learnt in ``train()`` mode and frozen in ``eval()``.

    Parameters
    ----------
    model : torch.nn.Module
        A float model built from ``nn.Sequential`` containers (as ``scaledown.foundations.models``
        builds them), input ``(batch, C, H, W)`` float32.
    num_bits : int

    Returns
    -------
    torch.nn.Sequential
    """
    folded = fold_conv_bn_torch(copy.deepcopy(model))
    _quantize_children(folded, num_bits)
    return nn.Sequential(OrderedDict(input_quant=FakeQuantize(num_bits), model=folded)).train()


def export_qdq_onnx(model, example_input, path, opset_version=17):
    """Export a QAT model (from ``prepare_qat``) as ONNX with QuantizeLinear/DequantizeLinear nodes.

    The scales and zero points in the file are the learnt ones; weights are
    stored as int8 (a DequantizeLinear reads them), so the file is about a
    quarter of the float one. onnxruntime and OpenVINO run it in int8.

    Parameters
    ----------
    model : torch.nn.Module
    example_input : torch.Tensor (1, C, H, W) float32
    path : str or Path
        Output ``.onnx`` file.

    Returns
    -------
    str : ``path``
    """
    import onnx

    model = model.eval()
    with torch.no_grad():
        model(example_input)  # refresh the weight scales from the final weights
    export_onnx(model, example_input, path, opset_version)  # the fake-quant ops export as QDQ pairs
    onnx.save(_store_weights_as_int8(onnx.load(str(path))), str(path))
    return str(path)


def _store_weights_as_int8(onnx_model):
    """Replace ``QuantizeLinear(float weight)`` by the int8 weight it computes, so the file stores int8."""
    from onnx import numpy_helper

    graph = onnx_model.graph
    constants = {t.name: t for t in graph.initializer}
    for node in graph.node:  # the exporter also writes constants as Constant nodes and Identity copies
        if node.op_type == "Constant":
            constants[node.output[0]] = node.attribute[0].t
        elif node.op_type == "Identity" and node.input[0] in constants:
            constants[node.output[0]] = constants[node.input[0]]
    for node in list(graph.node):
        if node.op_type != "QuantizeLinear" or node.input[0] not in constants:
            continue
        weight, scale, zero_point = (numpy_helper.to_array(constants[name]) for name in node.input)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * weight.ndim
        if scale.ndim:
            shape[axis] = -1
        q = np.round(weight / scale.reshape(shape)) + zero_point.reshape(shape).astype(np.int32)
        q = np.clip(q, -128, 127).astype(np.int8)
        graph.initializer.append(numpy_helper.from_array(q, node.output[0]))
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for tensor in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(tensor)
    return onnx_model
