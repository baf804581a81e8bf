"""The shared training loops learn, in both frameworks, on a few digits."""
import numpy as np

from scaledown import datasets, models, training


def test_train_keras_learns_digits():
    x, y, xt, yt = datasets.load_digits(limit=300)
    model = models.baseline("keras")
    history = training.train_keras(model, x, y, epochs=3)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]


def test_train_torch_learns_digits():
    x, y, xt, yt = datasets.load_digits(limit=300, layout="NCHW")
    model = models.baseline("torch")
    history = training.train_torch(model, x, y, epochs=3, progress=False)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    logits = training.predict_torch(model, xt)
    assert logits.shape == (len(xt), 10) and 0.0 <= training.accuracy(logits, yt) <= 1.0


def test_accuracy_counts_argmax_matches():
    assert training.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
