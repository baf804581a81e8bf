"""The shared training loops learn, in both frameworks, on a few digits."""

import numpy as np
import torch

from scaledown.foundations import datasets, models, training


def test_train_keras_learns_digits():
    x, y, xt, yt = datasets.load_digits(limit=300)
    model = models.baseline("keras")
    history = training.train_keras(model, x, y, epochs=3)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert history["accuracy"][-1] > 0.7  # chance is 0.1; this run reaches 0.9


def test_train_torch_learns_digits():
    x, y, _, _ = datasets.load_digits(limit=300, layout="NCHW")
    model = models.baseline("torch")
    history = training.train_torch(model, x, y, epochs=3, progress=False)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert history["accuracy"][-1] > 0.7  # chance is 0.1; this run reaches 0.9


def test_predict_torch_gives_the_eval_mode_logits_of_every_batch():
    # Left in training mode, BatchNorm would normalise by each batch's statistics and change the logits.
    x, y, xt, _ = datasets.load_digits(limit=100, layout="NCHW")
    model = models.baseline("torch")
    training.train_torch(model, x, y, epochs=1, progress=False)
    logits = training.predict_torch(model, xt, batch_size=64)  # 360 images: 5 full batches and a partial one
    model.eval()
    with torch.no_grad():
        expected = model(torch.as_tensor(xt)).numpy()
    assert logits.shape == (len(xt), 10)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)


def test_accuracy_counts_argmax_matches():
    assert training.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
