"""Batch-norm folding: merge a BatchNorm into the convolution before it.

At inference, BN is an affine map per output channel, ``y = γ·(z − μ)/√(σ² + ε) + β``,
applied to the convolution's output ``z = w * x + b``. Folding it into the
convolution removes an op and is what every int8 runtime does before it
quantizes the weights::

    w' = w · γ / √(σ² + ε)            (per output channel)
    b' = β + (b − μ) · γ / √(σ² + ε)

Folding multiplies each output channel's weights by its own factor, so the
folded weights' ranges can differ a lot between channels: why per-channel
weight scales matter (especially for depthwise convolutions).
"""

import copy

import numpy as np


def fold_batchnorm(weight, bias, gamma, beta, mean, var, eps=1e-3, axis=0):
    """Fold BN parameters into a convolution's weight and bias (NumPy).

    Parameters
    ----------
    weight : ndarray
        Convolution weight; ``axis`` is its output-channel axis (0 for PyTorch
        ``(out, in, kh, kw)``, 3 for Keras ``Conv2D`` ``(kh, kw, in, out)``).
    bias : ndarray (out,) or None
        None means no bias (zeros).
    gamma, beta, mean, var : ndarray (out,)
        BN scale, shift, running mean and running variance.
    eps : float

    Returns
    -------
    weight : ndarray, shape of ``weight``
    bias : ndarray (out,)
    """
    factor = gamma / np.sqrt(var + eps)
    shape = [1] * np.ndim(weight)
    shape[axis] = -1
    bias = np.zeros_like(mean) if bias is None else bias
    return weight * factor.reshape(shape), beta + (bias - mean) * factor


def fold_conv_bn_torch(model):
    """A copy of ``model`` (eval mode) with every ``Conv2d`` followed by a ``BatchNorm2d`` folded into one ``Conv2d``.

    Looks for the pair as consecutive children of an ``nn.Sequential`` (how the
    course's builders lay them out) and drops the BN. The copy computes the same
    outputs as ``model.eval()`` (to float rounding, about 1e-6).
    """
    from torch import nn

    model = copy.deepcopy(model).eval()
    for parent in list(model.modules()):
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent._modules.items())
        kept = []
        for name, module in children:
            previous = kept[-1][1] if kept else None
            if isinstance(module, nn.BatchNorm2d) and isinstance(previous, nn.Conv2d):
                kept[-1] = (kept[-1][0], _fold_pair(previous, module))
            else:
                kept.append((name, module))
        parent._modules.clear()
        parent._modules.update(kept)
    return model


def _fold_pair(conv, bn):
    """One ``Conv2d`` with bias that computes ``bn(conv(x))`` (eval mode)."""
    import torch
    from torch import nn

    weight, bias = fold_batchnorm(
        conv.weight.detach().numpy(),
        None if conv.bias is None else conv.bias.detach().numpy(),
        bn.weight.detach().numpy(),
        bn.bias.detach().numpy(),
        bn.running_mean.numpy(),
        bn.running_var.numpy(),
        bn.eps,
        axis=0,
    )
    folded = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
    )
    folded.weight.data = torch.as_tensor(weight, dtype=torch.float32)
    folded.bias.data = torch.as_tensor(bias, dtype=torch.float32)
    return folded
