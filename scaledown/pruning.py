"""Pruning: remove weights (unstructured) or whole channels (structured), in Keras and PyTorch.

The algorithms work on NumPy arrays and fit on a screen:

* ``magnitude_mask(w, sparsity)`` zeroes the ``sparsity`` fraction of ``w`` with the
  smallest ``|w|``; ``global_magnitude_masks`` does it with **one threshold for all
  layers** (layers with many small weights lose more), ``layer_magnitude_masks``
  with one threshold **per layer** (every layer loses the same fraction).
* ``polynomial_decay_sparsity(step, ...)`` is the gradual schedule of Zhu & Gupta
  (2017): ``s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (t_1 - t_0)) ** 3``. Prune fast
  while there are many redundant weights, slowly as few remain, and fine-tune in between
  (``prune_during_training``).
* ``sensitivity_analysis`` prunes one layer at a time and measures accuracy: which layers
  can lose most of their weights, and which cannot.
* ``prune_channels`` ranks each convolution's filters by the L1 norm of the filter (after
  folding the BN that follows) and **rebuilds a smaller model**: fewer filters in the
  conv, the matching channels of its BN and of the depthwise conv that follows, fewer
  input channels in the next conv or dense layer. MACs and latency fall, not only weights.

What unstructured sparsity buys: zeros compress, so the *file* shrinks (``size_report``
gzips the weights); a dense kernel still stores and multiplies every zero, so *RAM* and
latency do not change (activations are as large as before) unless a sparse kernel runs it.

Framework plumbing sits at the edge: prunable weights are the kernels of ``Conv2D`` and
``Dense`` layers (Keras, named by layer) and the ``weight`` of ``nn.Conv2d`` and
``nn.Linear`` modules (PyTorch, named by module path). Depthwise convolutions are left out
unless named in ``layers=`` (as tfmot does): each channel's k×k kernel is its only spatial
filter, so pruning it costs much accuracy for very few bytes. Biases and BN parameters are
never pruned.
"""
from __future__ import annotations

import copy
import math
import zlib

import numpy as np

from scaledown.frameworks import framework_of
from scaledown.timing import median_ms

SCOPES = ("global", "layer")


# --- the algorithms, on NumPy arrays ------------------------------------------------------------

def _check_sparsity(sparsity, name="sparsity"):
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float, np.floating)) or not 0 <= sparsity < 1:
        raise ValueError(f"{name}={sparsity!r} is not valid; use a fraction in [0, 1), e.g. 0.8.")


def magnitude_mask(weights, sparsity):
    """Keep-mask of one array: ``False`` for the ``round(sparsity * size)`` weights with the smallest ``|w|``.

    Parameters
    ----------
    weights : ndarray, any shape, float
    sparsity : float in [0, 1)

    Returns
    -------
    ndarray of bool, same shape as ``weights``
    """
    _check_sparsity(sparsity)
    weights = np.asarray(weights)
    num_pruned = int(round(sparsity * weights.size))
    mask = np.ones(weights.size, dtype=bool)
    mask[np.argsort(np.abs(weights).ravel(), kind="stable")[:num_pruned]] = False
    return mask.reshape(weights.shape)


def layer_magnitude_masks(weights, sparsity):
    """One threshold per layer: every array in the dict ``{name: ndarray}`` loses ``sparsity`` of its weights."""
    return {name: magnitude_mask(w, sparsity) for name, w in weights.items()}


def global_magnitude_masks(weights, sparsity):
    """One threshold for all layers: the ``sparsity`` fraction of *all* weights with the smallest ``|w|``.

    Parameters
    ----------
    weights : dict of {str: ndarray}
    sparsity : float in [0, 1)

    Returns
    -------
    dict of {str: ndarray of bool}
        Keep-masks, same keys and shapes; together they prune ``round(sparsity * total)`` weights.
    """
    names = list(weights)
    flat = magnitude_mask(np.concatenate([np.asarray(weights[n]).ravel() for n in names]), sparsity)
    masks, start = {}, 0
    for name in names:
        size = np.asarray(weights[name]).size
        masks[name] = flat[start:start + size].reshape(np.shape(weights[name]))
        start += size
    return masks


def polynomial_decay_sparsity(step, final_sparsity, begin_step, end_step, initial_sparsity=0.0, power=3):
    """Sparsity at training ``step`` under the polynomial schedule of Zhu & Gupta (2017).

    ``s(t) = s_f + (s_i - s_f) * (1 - p) ** power`` with ``p = (t - begin_step) / (end_step - begin_step)``
    clipped to [0, 1]: ``initial_sparsity`` before ``begin_step``, ``final_sparsity`` after
    ``end_step``. tfmot's ``PolynomialDecay`` uses the same formula.
    """
    _check_sparsity(final_sparsity, "final_sparsity")
    _check_sparsity(initial_sparsity, "initial_sparsity")
    if not end_step > begin_step:
        raise ValueError(f"end_step={end_step!r} is not valid; use a step after begin_step={begin_step!r}.")
    progress = min(1.0, max(0.0, (step - begin_step) / (end_step - begin_step)))
    return final_sparsity + (initial_sparsity - final_sparsity) * (1.0 - progress) ** power


def _masks_for(weights, sparsity, scope):
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r} is not valid; use 'global' (one threshold) or 'layer' (one per layer).")
    return (global_magnitude_masks if scope == "global" else layer_magnitude_masks)(weights, sparsity)


# --- framework edge: which weights, read and write -----------------------------------------------

def _prunable(model, depthwise=False):
    """``{name: variable}``: kernels of Conv2D / Dense (Keras), weights of Conv2d / Linear (PyTorch).

    Depthwise kernels join only with ``depthwise=True``.
    """
    if framework_of(model) == "torch":
        from torch import nn

        return {name: module.weight for name, module in model.named_modules()
                if isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d)
                                                     and (depthwise or module.groups == 1))}
    import keras

    found = {}
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            if depthwise:
                found[layer.name] = layer.kernel
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            found[layer.name] = layer.kernel
    return found


def _to_numpy(variable):
    return variable.detach().cpu().numpy().copy() if hasattr(variable, "detach") else np.array(variable.numpy())


def _assign(variable, array):
    if hasattr(variable, "detach"):
        import torch

        with torch.no_grad():
            variable.copy_(torch.as_tensor(array, dtype=variable.dtype))
    else:
        variable.assign(np.asarray(array, dtype=variable.dtype))


def prunable_weights(model, layers=None):
    """The prunable weights of a Keras or PyTorch model as ``{name: ndarray}`` (copies).

    By default the kernels of regular convolutions and dense layers; ``layers`` picks
    names instead, depthwise convolutions included (see the module docstring).
    """
    variables = _prunable(model, depthwise=layers is not None)
    if layers is not None:
        unknown = [name for name in layers if name not in variables]
        if unknown:
            raise ValueError(f"layers={unknown!r} are not prunable layers of this model; use names from "
                             f"{list(variables)}.")
        variables = {name: variables[name] for name in layers}
    return {name: _to_numpy(v) for name, v in variables.items()}


def apply_masks(model, masks):
    """Multiply each named weight by its keep-mask, in place (``masks`` is ``{name: bool ndarray}``)."""
    variables = _prunable(model, depthwise=True)
    for name, mask in masks.items():
        _assign(variables[name], _to_numpy(variables[name]) * mask)


def prune(model, sparsity, scope="global", layers=None):
    """Magnitude-prune a Keras or PyTorch model in place, once (no fine-tuning).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    sparsity : float in [0, 1)
        Fraction of the prunable weights set to zero.
    scope : {"global", "layer"}
        One threshold for all layers, or the same fraction in every layer.
    layers : list of str, optional
        Prune only these layers (names from ``prunable_weights(model)``).

    Returns
    -------
    dict of {str: ndarray of bool}
        The keep-masks that were applied.
    """
    _check_sparsity(sparsity)
    masks = _masks_for(prunable_weights(model, layers), sparsity, scope)
    apply_masks(model, masks)
    return masks


def sparsity_table(model):
    """One row per prunable layer: ``{"layer", "parameters", "zeros", "sparsity"}``."""
    rows = []
    for name, w in prunable_weights(model).items():
        zeros = int(np.sum(w == 0))
        rows.append({"layer": name, "parameters": int(w.size), "zeros": zeros, "sparsity": zeros / w.size})
    return rows


def model_sparsity(model):
    """Fraction of the prunable weights that are exactly zero."""
    rows = sparsity_table(model)
    return sum(r["zeros"] for r in rows) / max(1, sum(r["parameters"] for r in rows))


def _all_weights(model):
    if framework_of(model) == "torch":
        return [t.detach().cpu().numpy() for t in model.state_dict().values() if t.is_floating_point()]
    return [np.asarray(w) for w in model.get_weights()]


def size_report(model, input_shape=None):
    """What the model costs on disk, compressed or not, and in RAM.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    input_shape : tuple of int, optional
        Batch-1 input shape for the RAM estimate of a PyTorch model, e.g. ``(1, 1, 32, 32)``.

    Returns
    -------
    dict
        ``parameters`` (every float weight, BN statistics included), ``nonzero``,
        ``dense_bytes`` (float32 on disk: 4 per weight, zeros included),
        ``compressed_bytes`` (those bytes through zlib level 9, like gzip),
        ``peak_activation_bytes`` (float32 RAM for activations, from ``scaledown.profile``):
        zeros in the weights change the compressed size, not the activations.
    """
    from scaledown.hardware import profile

    arrays = [np.asarray(a, np.float32) for a in _all_weights(model)]
    raw = b"".join(a.tobytes() for a in arrays)
    peak = profile(model, target="nano33ble", input_shape=input_shape).peak_activation_bytes
    return {
        "parameters": int(sum(a.size for a in arrays)),
        "nonzero": int(sum(np.count_nonzero(a) for a in arrays)),
        "dense_bytes": len(raw),
        "compressed_bytes": len(zlib.compress(raw, 9)),
        "peak_activation_bytes": int(peak),
    }


def compressed_size(data):
    """Bytes of ``data`` (bytes, e.g. a ``.tflite``) after zlib level 9 compression, as gzip would store it."""
    return len(zlib.compress(bytes(data), 9))


# --- evaluation helpers (accuracy, used by sensitivity analysis) ---------------------------------

def _accuracy(model, x, y):
    if framework_of(model) == "torch":
        from scaledown.training import predict_torch

        logits = predict_torch(model, x)
    else:
        logits = np.concatenate([np.asarray(model(x[i:i + 512], training=False)) for i in range(0, len(x), 512)])
    return float((logits.argmax(axis=1) == np.asarray(y)).mean())


def sensitivity_analysis(model, x, y, sparsities=(0.5, 0.75, 0.9), layers=None, progress=True):
    """Prune one layer at a time to each sparsity and measure accuracy; the model is restored afterwards.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A trained model.
    x, y : ndarray
        Evaluation inputs in the model's layout and int labels ``(N,)``.
    sparsities : sequence of float in [0, 1)
    layers : list of str, optional
        Layers to analyse; all prunable layers by default.

    Returns
    -------
    list of dict
        One row per (layer, sparsity): ``{"layer", "parameters", "sparsity", "accuracy"}``,
        plus one row per layer at sparsity 0 with the unpruned accuracy.
    """
    from tqdm.auto import tqdm

    for s in sparsities:
        _check_sparsity(s, "sparsities")
    original = prunable_weights(model, layers)
    variables = _prunable(model, depthwise=True)
    base = _accuracy(model, x, y)
    rows = []
    for name, weights in tqdm(original.items(), desc="layers", disable=not progress):
        rows.append({"layer": name, "parameters": int(weights.size), "sparsity": 0.0, "accuracy": base})
        try:
            for s in sparsities:
                _assign(variables[name], weights * magnitude_mask(weights, s))
                rows.append({"layer": name, "parameters": int(weights.size), "sparsity": float(s),
                             "accuracy": _accuracy(model, x, y)})
        finally:
            _assign(variables[name], weights)
    return rows


def plot_sensitivity(rows, ax=None):
    """Accuracy against sparsity, one line per layer, from ``sensitivity_analysis`` rows; returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name in dict.fromkeys(r["layer"] for r in rows):
        layer_rows = [r for r in rows if r["layer"] == name]
        ax.plot([r["sparsity"] for r in layer_rows], [r["accuracy"] for r in layer_rows], marker="o",
                label=f"{name} ({layer_rows[0]['parameters']:,} weights)")
    ax.set(xlabel="sparsity of that layer alone", ylabel="accuracy", title="per-layer pruning sensitivity")
    ax.legend(fontsize=7, ncol=2)
    return ax


# --- gradual pruning during fine-tuning ------------------------------------------------------------

def prune_during_training(model, x, y, *, final_sparsity, epochs, initial_sparsity=0.0, begin_step=0,
                          end_step=None, frequency=10, power=3, scope="global", layers=None, batch_size=32,
                          learning_rate=3e-3, seed=0, progress=True):
    """Fine-tune ``model`` in place while its sparsity follows ``polynomial_decay_sparsity``.

    Every ``frequency`` steps the masks are recomputed from the current weights at the
    schedule's sparsity; after every optimiser step the pruned weights are set back to zero,
    so they stay pruned. Adam with a cosine-decayed learning rate, cross-entropy on logits.
    The default learning rate is the one the course trains with (``training.train_keras`` /
    ``train_torch``): starting the fine-tune at the original rate rather than a small one
    ("learning-rate rewinding", Renda et al., 2020) lets the remaining weights move far
    enough to take over from the pruned ones.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        Usually trained already. Inputs ``x`` in its layout (NHWC for Keras, NCHW for
        PyTorch) float32, ``y`` (N,) int labels.
    final_sparsity : float in [0, 1)
    epochs : int
    end_step : int, optional
        Step at which the final sparsity is reached; two thirds of the training steps by
        default, so the last third fine-tunes at the final sparsity.
    scope, layers
        As in ``prune``.

    Returns
    -------
    dict
        Per-epoch lists ``"loss"``, ``"accuracy"`` (training) and ``"sparsity"`` (reached).
    """
    _check_sparsity(final_sparsity, "final_sparsity")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} is not valid; use a positive integer.")
    total_steps = epochs * math.ceil(len(x) / batch_size)
    end_step = max(begin_step + 1, int(total_steps * 2 / 3)) if end_step is None else end_step
    schedule = lambda step: polynomial_decay_sparsity(step, final_sparsity, begin_step, end_step,  # noqa: E731
                                                      initial_sparsity, power)
    names = list(prunable_weights(model, layers))
    if framework_of(model) == "torch":
        return _prune_train_torch(model, x, y, schedule, frequency, scope, names, epochs, batch_size,
                                  learning_rate, seed, progress, total_steps)
    return _prune_train_keras(model, x, y, schedule, frequency, scope, names, epochs, batch_size, learning_rate,
                              seed, progress, total_steps)


class _Pruner:
    """Keeps the masks and the step count; framework loops call ``before_step`` and ``after_step``."""

    def __init__(self, model, schedule, frequency, scope, names):
        self.model, self.schedule, self.frequency, self.scope, self.names = model, schedule, frequency, scope, names
        self.step, self.masks = 0, None

    def before_step(self):
        if self.step % self.frequency == 0:
            sparsity = self.schedule(self.step)
            if sparsity > 0:
                self.masks = _masks_for(prunable_weights(self.model, self.names), sparsity, self.scope)

    def after_step(self):
        if self.masks is not None:
            apply_masks(self.model, self.masks)
        self.step += 1

    def finish(self):
        # Land exactly on the schedule's last value, even if the last update was a few steps ago.
        sparsity = self.schedule(self.step)
        if sparsity > 0:
            self.masks = _masks_for(prunable_weights(self.model, self.names), sparsity, self.scope)
            apply_masks(self.model, self.masks)


def _prune_train_keras(model, x, y, schedule, frequency, scope, names, epochs, batch_size, learning_rate, seed,
                       progress, total_steps):
    import keras
    from tqdm.auto import tqdm

    pruner = _Pruner(model, schedule, frequency, scope, names)
    history = {"loss": [], "accuracy": [], "sparsity": []}

    class MaskCallback(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pruner.before_step()

        def on_train_batch_end(self, batch, logs=None):
            pruner.after_step()

        def on_epoch_end(self, epoch, logs=None):
            history["loss"].append(float(logs["loss"]))
            history["accuracy"].append(float(logs["accuracy"]))
            history["sparsity"].append(model_sparsity(model))
            bar.update(1)

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    with tqdm(total=epochs, desc="pruning epochs", disable=not progress) as bar:
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True, callbacks=[MaskCallback()])
    pruner.finish()
    history["sparsity"][-1] = model_sparsity(model)
    return history


def _prune_train_torch(model, x, y, schedule, frequency, scope, names, epochs, batch_size, learning_rate, seed,
                       progress, total_steps):
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    pruner = _Pruner(model, schedule, frequency, scope, names)
    history = {"loss": [], "accuracy": [], "sparsity": []}
    for _ in tqdm(range(epochs), desc="pruning epochs", disable=not progress):
        model.train()
        total_loss, correct = 0.0, 0
        for xb, yb in loader:
            pruner.before_step()
            optimizer.zero_grad()
            logits = model(xb)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            loss.backward()
            optimizer.step()
            lr_schedule.step()
            pruner.after_step()
            total_loss += float(loss.detach()) * len(xb)
            correct += int((logits.argmax(1) == yb).sum())
        history["loss"].append(total_loss / len(dataset))
        history["accuracy"].append(correct / len(dataset))
        history["sparsity"].append(model_sparsity(model))
    pruner.finish()
    history["sparsity"][-1] = model_sparsity(model)
    return history


# --- structured pruning: remove channels, rebuild a smaller model ---------------------------------
#
# The core works on a chain of layer records in one layout (PyTorch's):
#   conv      weight (out, in, kh, kw)          depthwise weight (C, 1, kh, kw)
#   dense     weight (out, in)                  bn        per-channel vectors
#   pass      no weights, channels unchanged (activations, pooling, dropout, flatten after pooling)
# Each conv listed in ``ratios`` keeps its highest-scoring filters; the kept channel indices
# then flow down the chain until the next conv or dense layer takes them as its inputs.

def _filter_scores(weight, bn):
    """L1 norm of each filter as BN folding would scale it: ``|gamma| / sqrt(var + eps) * sum |W|``."""
    scores = np.abs(weight).reshape(len(weight), -1).sum(axis=1)
    if bn is not None:
        scores = scores * np.abs(bn["scale"])
    return scores


def _prune_chain(records, ratios, min_channels, multiple_of=1):
    """New weights for every record after removing filters; returns ``(records, kept channels per conv)``."""
    out, keep, kept_counts = [], None, {}
    for index, record in enumerate(records):
        kind, weights = record["kind"], dict(record.get("weights", {}))
        if kind == "conv":
            w = weights["weight"] if keep is None else weights["weight"][:, keep]
            weights["weight"] = w
            if record["name"] in ratios:
                follower = records[index + 1] if index + 1 < len(records) else None
                bn = follower.get("bn_fold") if follower is not None and follower["kind"] == "bn" else None
                num_keep = max(min(min_channels, len(w)), int(round(len(w) * (1 - ratios[record["name"]]))))
                num_keep = min(len(w), multiple_of * math.ceil(num_keep / multiple_of))
                keep = np.sort(np.argsort(-_filter_scores(w, bn), kind="stable")[:num_keep])
                weights = {k: v[keep] for k, v in weights.items()}  # weight and bias, along the filter axis
                kept_counts[record["name"]] = int(num_keep)
            else:
                keep = None
        elif kind in ("depthwise", "bn") and keep is not None:
            weights = {k: v[keep] for k, v in weights.items()}
        elif kind == "dense" and keep is not None:
            weights["weight"] = weights["weight"][:, keep]
            keep = None
        out.append({**record, "weights": weights})
    return out, kept_counts


def _prunable_convs(records):
    """Names of the convs whose filters may go: all but a final conv that produces the outputs (a 1x1 classifier)."""
    names = [r["name"] for r in records if r["kind"] == "conv"]
    weighted = [r for r in records if r["kind"] in ("conv", "dense", "depthwise")]
    if weighted and weighted[-1]["kind"] == "conv":
        names.remove(weighted[-1]["name"])
    return names


def _check_ratios(ratio, conv_names):
    ratios = dict.fromkeys(conv_names, ratio) if not isinstance(ratio, dict) else dict(ratio)
    unknown = [name for name in ratios if name not in conv_names]
    if unknown:
        raise ValueError(f"ratio names {unknown!r} that are not prunable convolutions; use names from {conv_names}.")
    for name, value in ratios.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"ratio={value!r} for {name!r} is not valid; use a fraction of filters in [0, 1).")
    return ratios


def prune_channels(model, ratio, min_channels=4, multiple_of=1):
    """Remove the weakest filters of each convolution and return a smaller, rebuilt model.

    Filters are ranked by their L1 norm scaled by the following BN (the filter after BN
    folding); the lowest ``ratio`` of each conv's filters go (but not those of a final conv
    whose filters are the outputs, such as a 1x1 classifier), with the matching channels
    of its BN, of a following depthwise conv and its BN, and the input channels of the next
    conv or dense layer. The original model is not changed. Fine-tune the result.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A chain of layers: a Keras functional or Sequential model without merges
        (``Add``, ``Concatenate``) or ``Flatten`` of a feature map larger than 1x1, or a PyTorch model
        whose containers are all ``nn.Sequential``. Depthwise convs must have one filter
        per input channel.
    ratio : float in [0, 1) or dict of {str: float}
        Fraction of filters to remove from every regular (non-depthwise) conv, or per conv
        name (Keras layer name, PyTorch module path); convs not in the dict keep all.
    min_channels : int
        No conv keeps fewer filters than this.
    multiple_of : int
        Round every kept count up to a multiple of this (8 suits SIMD kernels such as
        XNNPACK's and CMSIS-NN's: 19 channels often cost as much as 24).

    Returns
    -------
    keras.Model or torch.nn.Module
        A new model of the same framework with fewer channels; ``model.pruned_channels``
        (PyTorch) / ``model.pruned_channels`` attribute on Keras too: ``{conv name: filters kept}``.
    """
    for name, value in (("min_channels", min_channels), ("multiple_of", multiple_of)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is not valid; use a positive integer.")
    if framework_of(model) == "torch":
        return _prune_channels_torch(model, ratio, min_channels, multiple_of)
    return _prune_channels_keras(model, ratio, min_channels, multiple_of)


def _prune_channels_keras(model, ratio, min_channels, multiple_of):
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError("model has several inputs or outputs; prune_channels needs a chain with one of each.")
    records = []
    for layer in layers:
        name = type(layer).__name__
        weights = layer.get_weights()
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            if layer.depth_multiplier != 1:
                raise ValueError(f"layer {layer.name!r} has depth_multiplier={layer.depth_multiplier}; "
                                 "prune_channels supports 1.")
            w = np.transpose(weights[0], (2, 3, 0, 1))  # (kh, kw, C, 1) -> (C, 1, kh, kw)
            records.append({"kind": "depthwise", "name": layer.name, "weights": _with_bias(w, weights)})
        elif isinstance(layer, keras.layers.Conv2D):
            if layer.groups != 1:
                raise ValueError(f"layer {layer.name!r} is a grouped conv (groups={layer.groups}); not supported.")
            w = np.transpose(weights[0], (3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)
            records.append({"kind": "conv", "name": layer.name, "weights": _with_bias(w, weights)})
        elif isinstance(layer, keras.layers.BatchNormalization):
            arrays = dict(zip([v.path.split("/")[-1] for v in layer.weights], weights))
            gamma = arrays.get("gamma", np.ones_like(arrays["moving_variance"]))
            records.append({"kind": "bn", "name": layer.name, "weights": {str(i): w for i, w in enumerate(weights)},
                            "bn_fold": {"scale": gamma / np.sqrt(arrays["moving_variance"] + layer.epsilon)}})
        elif isinstance(layer, keras.layers.Dense):
            records.append({"kind": "dense", "name": layer.name,
                            "weights": _with_bias(np.transpose(weights[0]), weights)})
        elif name == "Flatten" and any(d != 1 for d in layer.input.shape[1:-1]):
            raise ValueError(f"layer {layer.name!r} flattens a {tuple(layer.input.shape[1:])} feature map; "
                             "prune_channels supports Flatten only of a 1x1 map (after global pooling).")
        elif name in ("ReLU", "Activation", "Dropout", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                      "MaxPooling2D", "AveragePooling2D", "LeakyReLU", "ZeroPadding2D", "Flatten"):
            records.append({"kind": "pass", "name": layer.name})
        else:
            raise ValueError(f"layer {layer.name!r} ({name}) is not supported by prune_channels; it handles chains "
                             "of Conv2D, DepthwiseConv2D, BatchNormalization, activations, pooling and Dense.")
    conv_names = _prunable_convs(records)
    new_records, kept = _prune_chain(records, _check_ratios(ratio, conv_names), min_channels, multiple_of)

    inputs = keras.Input(shape=model.input_shape[1:], name=model.inputs[0].name.split(":")[0])
    x = inputs
    built = []
    for layer, record in zip(layers, new_records):
        config = layer.get_config()
        if record["kind"] == "conv":
            config["filters"] = len(record["weights"]["weight"])
        twin = type(layer).from_config(config)
        x = twin(x)
        built.append((twin, record))
    pruned = keras.Model(inputs, x, name=model.name)
    for twin, record in built:
        w = record["weights"]
        if record["kind"] == "conv":
            twin.set_weights([np.transpose(w["weight"], (2, 3, 1, 0))] + ([w["bias"]] if "bias" in w else []))
        elif record["kind"] == "depthwise":
            twin.set_weights([np.transpose(w["weight"], (2, 3, 0, 1))] + ([w["bias"]] if "bias" in w else []))
        elif record["kind"] == "dense":
            twin.set_weights([np.transpose(w["weight"])] + ([w["bias"]] if "bias" in w else []))
        elif record["kind"] == "bn":
            twin.set_weights([w[str(i)] for i in range(len(w))])
    pruned.pruned_channels = kept
    return pruned


def _with_bias(weight, keras_weights):
    return {"weight": weight, **({"bias": keras_weights[1]} if len(keras_weights) > 1 else {})}


def _prune_channels_torch(model, ratio, min_channels, multiple_of):
    from torch import nn

    for name, module in model.named_modules():
        if list(module.children()) and not isinstance(module, nn.Sequential):
            raise ValueError(f"module {name or 'model'!r} ({type(module).__name__}) is not an nn.Sequential; "
                             "prune_channels needs a chain whose containers are all nn.Sequential.")
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    records, channels = [], None   # channels: what the last convolution outputs
    for name, m in leaves:
        def tensors(**named):
            return {k: v.detach().cpu().numpy().copy() for k, v in named.items() if v is not None}

        if isinstance(m, nn.Conv2d):
            channels = m.out_channels
            if m.groups == 1:
                records.append({"kind": "conv", "name": name, "weights": tensors(weight=m.weight, bias=m.bias)})
            elif m.groups == m.in_channels == m.out_channels:
                records.append({"kind": "depthwise", "name": name, "weights": tensors(weight=m.weight, bias=m.bias)})
            else:
                raise ValueError(f"module {name!r} is a grouped conv (groups={m.groups}); not supported.")
        elif isinstance(m, nn.BatchNorm2d):
            gamma = m.weight.detach().numpy() if m.affine else np.ones(m.num_features, np.float32)
            records.append({"kind": "bn", "name": name,
                            "weights": tensors(weight=m.weight, bias=m.bias, running_mean=m.running_mean,
                                               running_var=m.running_var),
                            "bn_fold": {"scale": gamma / np.sqrt(m.running_var.numpy() + m.eps)}})
        elif isinstance(m, nn.Linear):
            if channels is not None and m.in_features != channels:
                raise ValueError(f"module {name!r} takes {m.in_features} features from a map of {channels} channels: "
                                 "it flattens a feature map larger than 1x1, and prune_channels supports Flatten only "
                                 "of a 1x1 map (after global pooling).")
            channels = None
            records.append({"kind": "dense", "name": name, "weights": tensors(weight=m.weight, bias=m.bias)})
        elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.Identity, nn.Dropout, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
                            nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Hardswish, nn.SiLU, nn.LeakyReLU)):
            records.append({"kind": "pass", "name": name})
        else:
            raise ValueError(f"module {name!r} ({type(m).__name__}) is not supported by prune_channels; it handles "
                             "chains of Conv2d, BatchNorm2d, activations, pooling, Flatten and Linear.")
    conv_names = _prunable_convs(records)
    new_records, kept = _prune_chain(records, _check_ratios(ratio, conv_names), min_channels, multiple_of)

    import torch

    pruned = copy.deepcopy(model)
    modules = dict(pruned.named_modules())
    for record in new_records:
        if record["kind"] == "pass":
            continue
        old, w = modules[record["name"]], {k: torch.from_numpy(v) for k, v in record["weights"].items()}
        if record["kind"] == "conv":
            new = nn.Conv2d(w["weight"].shape[1], w["weight"].shape[0], old.kernel_size, old.stride, old.padding,
                            old.dilation, 1, old.bias is not None, old.padding_mode)
        elif record["kind"] == "depthwise":
            channels = w["weight"].shape[0]
            new = nn.Conv2d(channels, channels, old.kernel_size, old.stride, old.padding, old.dilation, channels,
                            old.bias is not None, old.padding_mode)
        elif record["kind"] == "bn":
            new = nn.BatchNorm2d(len(w["running_mean"]), old.eps, old.momentum, old.affine, old.track_running_stats)
            new.running_mean.copy_(w.pop("running_mean"))
            new.running_var.copy_(w.pop("running_var"))
        else:
            new = nn.Linear(w["weight"].shape[1], w["weight"].shape[0], old.bias is not None)
        with torch.no_grad():
            for key, value in w.items():
                getattr(new, key).copy_(value)
        parent_name, _, child = record["name"].rpartition(".")
        setattr(modules[parent_name] if parent_name else pruned, child, new)
    pruned.pruned_channels = kept
    return pruned


def measure_latency(model, sample, repeats=100, warmup=10, reference_kernels=False):
    """Median milliseconds for one forward pass of ``sample`` on this CPU, single thread.

    Keras models are converted to a float32 ``.tflite`` and run by LiteRT (the runtime a
    phone or a Raspberry Pi uses); ``reference_kernels=True`` runs LiteRT's plain reference
    kernels instead of the optimised ones: loops like TensorFlow Lite Micro's portable
    kernels, whose time follows the MACs as on a microcontroller. PyTorch models run
    eagerly under ``torch.no_grad``. ``sample`` is one batch in the model's layout, e.g. ``x[:1]``.
    """
    sample = np.asarray(sample, np.float32)
    if framework_of(model) == "torch":
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        model.eval()
        tensor = torch.from_numpy(sample)
        run = lambda: model(tensor)  # noqa: E731
        try:
            with torch.no_grad():
                return median_ms(run, repeats, warmup)
        finally:
            torch.set_num_threads(threads)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from scaledown.quantization.tensorflow import float_tflite

    resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    interpreter = Interpreter(model_content=float_tflite(model), num_threads=1,
                              experimental_op_resolver_type=resolver)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, sample.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, sample)
    return median_ms(interpreter.invoke, repeats, warmup)
