"""Federated learning: train one model across devices that never share their data.

FedAvg (McMahan et al., 2017), with a gateway as the coordinator. Each round:

1. the gateway sends the global weights ``w`` to the devices;
2. device ``k`` trains them for a few local epochs on its own ``n_k`` samples → ``w_k``;
3. the gateway averages: ``w ← Σ_k (n_k / n) · w_k``.

Only weights travel, never data. The catch is that devices' data are *non-IID*: one
user writes mostly 1s and 7s, another mostly 0s. :func:`dirichlet_split` makes such
splits (small ``alpha`` = more skewed), and the chapter compares FedAvg with
centralised training on the pooled data.

The model is a NumPy MLP (``x → ReLU(x W1 + b1) → W2 + b2 → logits``) with its
gradients written out, so the whole algorithm fits on a screen. For fleets beyond one
machine, use an engine such as Flower (``flwr``), which runs the same strategy over
real networks.
"""

from __future__ import annotations

import numpy as np


# --- a tiny MLP in NumPy --------------------------------------------------------------------
def init_mlp(num_inputs: int = 64, num_hidden: int = 32, num_classes: int = 10, seed: int = 0) -> dict:
    """Weights ``{"w1": (in, hidden), "b1": (hidden,), "w2": (hidden, classes), "b2": (classes,)}``, float32."""
    rng = np.random.default_rng(seed)
    return {
        "w1": (rng.standard_normal((num_inputs, num_hidden)) * np.sqrt(2 / num_inputs)).astype(np.float32),
        "b1": np.zeros(num_hidden, np.float32),
        "w2": (rng.standard_normal((num_hidden, num_classes)) * np.sqrt(1 / num_hidden)).astype(np.float32),
        "b2": np.zeros(num_classes, np.float32),
    }


def forward(weights: dict, x, return_hidden: bool = False):
    """Logits (N, classes) for inputs ``x`` (N, features); with ``return_hidden`` also the hidden activations."""
    with np.errstate(over="ignore", invalid="ignore"):  # flipped bits may overflow (robustness.py)
        hidden = np.maximum(0.0, np.asarray(x, np.float32) @ weights["w1"] + weights["b1"])
        logits = hidden @ weights["w2"] + weights["b2"]
    return (logits, hidden) if return_hidden else logits


def evaluate(weights: dict, x, y) -> float:
    """Accuracy of ``weights`` on ``x`` (N, features), ``y`` (N,)."""
    return float((forward(weights, x).argmax(1) == np.asarray(y)).mean())


def train_local(
    weights: dict, x, y, *, epochs: int = 1, learning_rate: float = 0.1, batch_size: int = 32, seed: int = 0
) -> dict:
    """Minibatch SGD on softmax cross-entropy; returns new weights (the input is not changed)."""
    w = {k: v.copy() for k, v in weights.items()}
    x, y = np.asarray(x, np.float32), np.asarray(y)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            logits, hidden = forward(w, x[idx], return_hidden=True)
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1.0  # d loss / d logits
            p /= len(idx)
            d_hidden = (p @ w["w2"].T) * (hidden > 0)
            w["w2"] -= learning_rate * hidden.T @ p
            w["b2"] -= learning_rate * p.sum(0)
            w["w1"] -= learning_rate * x[idx].T @ d_hidden
            w["b1"] -= learning_rate * d_hidden.sum(0)
    return w


# --- splitting data across devices ----------------------------------------------------------
def iid_split(num_samples: int, num_clients: int, seed: int = 0) -> list:
    """Shuffle and deal ``num_samples`` indices evenly to ``num_clients`` devices."""
    return np.array_split(np.random.default_rng(seed).permutation(num_samples), num_clients)


def dirichlet_split(labels, num_clients: int, alpha: float = 0.5, seed: int = 0, min_size: int = 5) -> list:
    """Non-IID split: each class's samples are shared out by proportions drawn from Dirichlet(``alpha``).

    Small ``alpha`` (0.1) gives each device a few classes; large (100) is nearly IID.
    Returns one index array per device; redraws until each device has ``min_size`` samples.
    """
    if alpha <= 0:
        raise ValueError(f"alpha={alpha!r} must be > 0 (0.1 = very skewed, 100 = nearly IID).")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        parts = [[] for _ in range(num_clients)]
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            cuts = (np.cumsum(rng.dirichlet([alpha] * num_clients))[:-1] * len(idx)).astype(int)
            for k, chunk in enumerate(np.split(idx, cuts)):
                parts[k].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.array(sorted(p)) for p in parts]
    raise ValueError(
        f"could not give each of {num_clients} devices {min_size} samples with alpha={alpha}; "
        f"use fewer devices or a larger alpha."
    )


# --- FedAvg and its centralised baseline ----------------------------------------------------
def fedavg(
    x,
    y,
    splits,
    *,
    rounds: int = 20,
    local_epochs: int = 1,
    learning_rate: float = 0.1,
    clients_per_round: int | None = None,
    x_test=None,
    y_test=None,
    seed: int = 0,
    init: dict | None = None,
):
    """Federated averaging coordinated by a gateway over devices holding ``x[split], y[split]``.

    Returns ``(weights, history)``; ``history`` has per-round ``test_accuracy`` (if a test
    set is given) and ``bytes`` (weights sent down and up that round).
    """
    rng = np.random.default_rng(seed)
    weights = init or init_mlp(x.shape[1], num_classes=int(np.max(y)) + 1, seed=seed)
    model_bytes = sum(v.nbytes for v in weights.values())
    history = {"test_accuracy": [], "bytes": []}
    k = clients_per_round or len(splits)
    for r in range(rounds):
        chosen = rng.choice(len(splits), size=k, replace=False)
        updates, sizes = [], []
        for c in chosen:
            idx = splits[c]
            updates.append(
                train_local(
                    weights,
                    x[idx],
                    y[idx],
                    epochs=local_epochs,
                    learning_rate=learning_rate,
                    seed=seed * 1000 + r * 100 + int(c),
                )
            )
            sizes.append(len(idx))
        share = np.asarray(sizes, np.float64) / sum(sizes)
        weights = {name: sum(s * u[name] for s, u in zip(share, updates)).astype(np.float32) for name in weights}
        history["bytes"].append(2 * k * model_bytes)
        if x_test is not None:
            history["test_accuracy"].append(evaluate(weights, x_test, y_test))
    return weights, history


def train_centralised(x, y, *, epochs: int = 20, learning_rate: float = 0.1, x_test=None, y_test=None, seed: int = 0):
    """The baseline: all data pooled in one place, same model and optimiser. Returns ``(weights, history)``."""
    weights = init_mlp(x.shape[1], num_classes=int(np.max(y)) + 1, seed=seed)
    history = {"test_accuracy": []}
    for epoch in range(epochs):
        weights = train_local(weights, x, y, epochs=1, learning_rate=learning_rate, seed=seed + epoch)
        if x_test is not None:
            history["test_accuracy"].append(evaluate(weights, x_test, y_test))
    return weights, history


def load_flat_digits(seed: int = 0):
    """``digits`` at their native 8×8, flattened: ``x_train (N, 64)`` float32 in [0, 1], ``y_train``, ``x_test``, ``y_test``."""
    from scaledown.foundations.datasets import load_digits

    x_train, y_train, x_test, y_test = load_digits(size=8, seed=seed)
    return x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test
