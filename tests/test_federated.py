"""FedAvg on non-IID digits against centralised training (NumPy MLP, a few seconds)."""
import numpy as np
import pytest

from scaledown import federated


@pytest.fixture(scope="module")
def digits():
    return federated.load_flat_digits()


def test_dirichlet_split_is_a_partition_and_skewed(digits):
    _, y, _, _ = digits
    splits = federated.dirichlet_split(y, 10, alpha=0.1, seed=0)
    joined = np.concatenate(splits)
    assert len(joined) == len(y) == len(np.unique(joined))
    classes_per_device = [len(np.unique(y[s])) for s in splits]
    assert np.median(classes_per_device) < 6


def test_dirichlet_split_rejects_bad_alpha(digits):
    with pytest.raises(ValueError, match="alpha=0"):
        federated.dirichlet_split(digits[1], 10, alpha=0)


def test_local_training_learns(digits):
    x, y, x_test, y_test = digits
    w = federated.train_local(federated.init_mlp(), x, y, epochs=3)
    assert federated.evaluate(w, x_test, y_test) > 0.85


def test_fedavg_approaches_centralised_training(digits):
    x, y, x_test, y_test = digits
    _, central = federated.train_centralised(x, y, epochs=5, x_test=x_test, y_test=y_test)
    splits = federated.dirichlet_split(y, 10, alpha=0.5, seed=0)
    _, fed = federated.fedavg(x, y, splits, rounds=10, local_epochs=1, x_test=x_test, y_test=y_test)
    assert fed["test_accuracy"][-1] > 0.6
    assert fed["test_accuracy"][-1] > fed["test_accuracy"][0]
    assert central["test_accuracy"][-1] >= fed["test_accuracy"][-1] - 0.05
    assert all(b == fed["bytes"][0] for b in fed["bytes"])
