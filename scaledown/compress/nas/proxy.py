"""The accuracy proxy (PyTorch, the framework edge of the search): a few epochs on a subset, scored on a validation split."""

from __future__ import annotations

import contextlib
import warnings

from scaledown.compress.nas.space import Candidate, _is_int


@contextlib.contextmanager
def _torch_threads(threads):
    """Run the body with ``torch.set_num_threads(threads)``, restoring the old setting after."""
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(model, x, y, epochs, batch_size, learning_rate, seed):
    """``training.train_torch``, then BatchNorm statistics recomputed on ``x`` (see ``recalibrate_batchnorm``)."""
    from scaledown.foundations import training

    with warnings.catch_warnings():  # train_torch reads float(loss) of a tensor that requires grad
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
        history = training.train_torch(
            model, x, y, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, progress=False
        )
    recalibrate_batchnorm(model, x)
    return history


def recalibrate_batchnorm(model, x, batch_size: int = 256):
    """Recompute every BatchNorm's running mean and variance as exact averages over ``x`` (N, C, H, W).

    The running statistics are a slow moving average: the course's PyTorch models use
    ``momentum=0.01`` (PyTorch weighs the *new* batch by the momentum, so this is the
    same average as Keras's default ``momentum=0.99``; PyTorch's own default is 0.1).
    After a few epochs they still remember the random initial network,
    and the model in ``eval()`` mode predicts one class for every input. One
    pass over the training images in train mode, with a cumulative average
    (``momentum=None``), fixes that without changing a weight. Once-for-all and
    other weight-sharing searches do the same before scoring a sub-network.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            model(torch.as_tensor(x[i : i + batch_size]))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()


class ProxyFitness:
    """A cheap estimate of a candidate's accuracy: a short training run on part of ``digits``.

    The ``digits`` training split (the test split is never touched) is split again
    into a validation set of ``validation_size`` images and a training pool, of
    which ``train_limit`` images train the candidate for ``epochs`` epochs with
    ``training.train_torch`` (Adam, cosine schedule). The score is the accuracy on
    the validation set, at the candidate's resolution. Calling the object with a
    :class:`Candidate` returns that score, a float in [0, 1].

    Parameters
    ----------
    epochs : int
        Training epochs per candidate (few: the proxy ranks, it does not converge).
    train_limit : int or None
        Training images per candidate (``None``: the whole pool).
    validation_size : int
        Images held out from the training split to score candidates.
    batch_size : int
    learning_rate : float
    seed : int
        Seed of the splits and of every candidate's initialisation and shuffling.
    threads : int or None
        ``torch.set_num_threads`` while training (restored after); tiny models often
        train fastest on one thread. ``None`` leaves PyTorch's setting alone.
    """

    def __init__(
        self, epochs=3, train_limit=600, validation_size=300, batch_size=32, learning_rate=3e-3, seed=0, threads=None
    ):
        for name, value in (("epochs", epochs), ("validation_size", validation_size), ("batch_size", batch_size)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}={value!r} is not valid; use a positive integer.")
        if train_limit is not None and (not _is_int(train_limit) or train_limit < 10):
            raise ValueError(f"train_limit={train_limit!r} is not valid; use an integer >= 10 or None.")
        self.epochs, self.train_limit, self.validation_size = epochs, train_limit, validation_size
        self.batch_size, self.learning_rate, self.seed, self.threads = batch_size, learning_rate, seed, threads
        self._data = {}

    def data(self, resolution: int) -> tuple:
        """``(x_train, y_train, x_val, y_val)`` at ``resolution``, NCHW float32 and int64 labels."""
        if resolution not in self._data:
            from sklearn.model_selection import train_test_split

            from scaledown.foundations.datasets import load_digits

            split = load_digits(size=resolution, layout="NCHW", seed=0)
            x_pool, x_val, y_pool, y_val = train_test_split(
                split.x_train,
                split.y_train,
                test_size=self.validation_size,
                stratify=split.y_train,
                random_state=self.seed,
            )
            if self.train_limit is not None and self.train_limit < len(x_pool):
                x_pool, _, y_pool, _ = train_test_split(
                    x_pool, y_pool, train_size=self.train_limit, stratify=y_pool, random_state=self.seed
                )
            self._data[resolution] = (x_pool, y_pool, x_val, y_val)
        return self._data[resolution]

    def __call__(self, candidate: Candidate) -> float:
        from scaledown.foundations import training
        from scaledown.foundations.models import build

        x, y, x_val, y_val = self.data(candidate.resolution)
        with _torch_threads(self.threads):
            import torch

            torch.manual_seed(self.seed)
            model = build(candidate.spec(num_classes=10, channels=x.shape[1]), "torch")
            _train(model, x, y, self.epochs, self.batch_size, self.learning_rate, self.seed)
            return training.accuracy(training.predict_torch(model, x_val), y_val)

    def __repr__(self) -> str:
        return (
            f"ProxyFitness(epochs={self.epochs}, train_limit={self.train_limit}, "
            f"validation_size={self.validation_size}, seed={self.seed})"
        )


def train_and_test(candidate: Candidate, epochs: int = 30, seed: int = 0, threads=None, limit=None):
    """The final recipe: train ``candidate`` on the whole ``digits`` training split, score it on the test split.

    The same recipe as chapter 1 (``training.train_torch``: Adam 3e-3, cosine,
    batch 32) so that a found model and the baseline compare fairly.

    Parameters
    ----------
    candidate : Candidate
    epochs : int
    seed : int
        Seed of the initialisation and the shuffling.
    threads : int or None
        ``torch.set_num_threads`` while training, as in :class:`ProxyFitness`.
    limit : int or None
        Train on at most this many images (quick mode).

    Returns
    -------
    (torch.nn.Module, float)
        The trained model and its test accuracy.
    """
    from scaledown.foundations import training
    from scaledown.foundations.datasets import load_digits
    from scaledown.foundations.models import build

    if not isinstance(candidate, Candidate):
        raise ValueError(f"candidate is a {type(candidate).__name__}; pass a nas.Candidate.")
    split = load_digits(size=candidate.resolution, layout="NCHW", seed=0, limit=limit)
    with _torch_threads(threads):
        import torch

        torch.manual_seed(seed)
        model = build(candidate.spec(num_classes=10, channels=1), "torch")
        _train(model, split.x_train, split.y_train, epochs, 32, 3e-3, seed)
        return model, training.accuracy(training.predict_torch(model, split.x_test), split.y_test)
