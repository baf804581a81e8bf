"""Training loops shared by the chapters: the Keras and the PyTorch idiom, side by side.

Both train with Adam and a cosine-decayed learning rate on integer labels and logits
(``from_logits=True`` / ``cross_entropy``), and return a history dict
``{"loss": [...], "accuracy": [...]}`` with one entry per epoch. Chapter 1's notebook
writes the PyTorch loop out in full; later chapters call these functions.
"""

from __future__ import annotations

import math

import numpy as np


def train_keras(
    model, x, y, *, epochs: int, batch_size: int = 32, learning_rate: float = 3e-3, seed: int = 0, verbose: int = 0
) -> dict:
    """Compile ``model`` and fit it on ``x`` (N, H, W, C) float32 and ``y`` (N,) int labels.

    Returns the Keras history as a plain dict of per-epoch lists.
    """
    import keras

    keras.utils.set_random_seed(seed)
    steps = epochs * math.ceil(len(x) / batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True)
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def train_torch(
    model,
    x,
    y,
    *,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
    loss_fn=None,
) -> dict:
    """Train a ``torch.nn.Module`` on ``x`` (N, C, H, W) float32 and ``y`` (N,) int labels.

    The classic loop: for each batch, ``zero_grad`` → forward → loss → ``backward`` →
    ``step``, with a tqdm bar over the epochs.
    """
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * len(loader)))
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    history = {"loss": [], "accuracy": []}
    for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
        model.train()
        total_loss, correct = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(xb)
            correct += int((logits.argmax(1) == yb).sum())
        history["loss"].append(total_loss / len(dataset))
        history["accuracy"].append(correct / len(dataset))
    return history


def predict_torch(model, x, batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` in eval mode for ``x`` (N, C, H, W), as a NumPy array (N, classes)."""
    import torch

    model.eval()
    with torch.no_grad():
        return np.concatenate(
            [model(torch.as_tensor(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
        )


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose arg-max equals the label."""
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())
