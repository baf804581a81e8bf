"""Gradual pruning during fine-tuning: the schedule, the masks kept between steps, and the dispatch
to each framework's training loop (``keras_edge``, ``torch_edge``)."""

from __future__ import annotations

import math

from scaledown.compress.pruning.masks import _check_sparsity, _masks_for, polynomial_decay_sparsity
from scaledown.compress.pruning.weights import apply_masks, prunable_weights
from scaledown.foundations.frameworks import framework_of


def prune_during_training(
    model,
    x,
    y,
    *,
    final_sparsity,
    epochs,
    initial_sparsity=0.0,
    begin_step=0,
    end_step=None,
    frequency=10,
    power=3,
    scope="global",
    layers=None,
    batch_size=32,
    learning_rate=3e-3,
    seed=0,
    progress=True,
):
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

    def schedule(step):
        return polynomial_decay_sparsity(step, final_sparsity, begin_step, end_step, initial_sparsity, power)

    names = list(prunable_weights(model, layers))
    if framework_of(model) == "torch":  # the framework edge: each trains with its own loop
        from scaledown.compress.pruning.torch_edge import _prune_train_torch

        return _prune_train_torch(
            model,
            x,
            y,
            schedule,
            frequency,
            scope,
            names,
            epochs,
            batch_size,
            learning_rate,
            seed,
            progress,
            total_steps,
        )
    from scaledown.compress.pruning.keras_edge import _prune_train_keras

    return _prune_train_keras(
        model, x, y, schedule, frequency, scope, names, epochs, batch_size, learning_rate, seed, progress, total_steps
    )


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
