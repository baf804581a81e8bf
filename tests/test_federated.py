"""FedAvg on non-IID digits against centralised training (NumPy MLP, a few seconds)."""

import numpy as np
import pytest

from scaledown.operate import federated


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


def test_fedavg_weights_each_client_by_its_number_of_samples(digits):
    # Three devices of 3, 30 and 300 samples. Each holds copies of one digit, so its local SGD
    # does not depend on the shuffling seed and we can train it again here on our own.
    x, y, _, _ = digits
    first = [int(np.flatnonzero(y == label)[0]) for label in (0, 1, 2)]
    sizes = (3, 30, 300)
    splits = [np.full(n, i) for n, i in zip(sizes, first)]
    init = federated.init_mlp(seed=1)
    weights, _ = federated.fedavg(x, y, splits, rounds=1, local_epochs=1, learning_rate=0.1, init=init)
    local = [federated.train_local(init, x[s], y[s], epochs=1, learning_rate=0.1) for s in splits]
    for name in init:
        weighted = (3 * local[0][name] + 30 * local[1][name] + 300 * local[2][name]) / 333
        plain = (local[0][name] + local[1][name] + local[2][name]) / 3
        np.testing.assert_allclose(weights[name], weighted, rtol=1e-5, atol=1e-6, err_msg=name)
        assert np.abs(weighted - plain).max() > 0.04, name  # so the check above tells the two means apart
