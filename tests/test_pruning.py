"""Pruning: the masks and the schedule on arrays, then real Keras and PyTorch models on a few digits."""

import keras
import numpy as np
import pytest
import torch

from scaledown import profile
from scaledown.compress import pruning
from scaledown.foundations import datasets, models


def test_magnitude_mask_prunes_the_smallest_weights():
    w = np.array([[0.5, -0.1], [0.05, -2.0]])
    assert pruning.magnitude_mask(w, 0.5).tolist() == [[True, False], [False, True]]


def test_global_masks_use_one_threshold_for_all_layers():
    weights = {"small": np.full(10, 0.01), "large": np.linspace(1, 2, 10)}
    masks = pruning.global_magnitude_masks(weights, 0.5)
    assert masks["small"].sum() == 0 and masks["large"].sum() == 10


def test_layer_masks_prune_the_same_fraction_in_every_layer():
    weights = {"small": np.linspace(0.01, 0.02, 10), "large": np.linspace(1, 2, 10)}
    masks = pruning.layer_magnitude_masks(weights, 0.5)
    assert masks["small"].sum() == 5 and masks["large"].sum() == 5


def test_polynomial_schedule_follows_zhu_and_gupta():
    s = lambda t: pruning.polynomial_decay_sparsity(t, 0.8, begin_step=10, end_step=110)  # noqa: E731
    assert s(0) == 0.0 and s(10) == 0.0 and s(110) == pytest.approx(0.8) and s(500) == pytest.approx(0.8)
    assert s(60) == pytest.approx(0.8 * (1 - 0.5**3))


def test_bad_sparsity_is_a_clear_error():
    with pytest.raises(ValueError, match="sparsity=1.5"):
        pruning.magnitude_mask(np.ones(4), 1.5)


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_prune_reaches_the_requested_sparsity(framework):
    model = models.baseline(framework)
    pruning.prune(model, 0.8)
    assert pruning.model_sparsity(model) == pytest.approx(0.8, abs=1e-3)


def test_layer_scope_prunes_every_layer_alike():
    model = models.baseline("torch")
    pruning.prune(model, 0.5, scope="layer")
    assert all(abs(row["sparsity"] - 0.5) < 0.07 for row in pruning.sparsity_table(model))


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_prune_during_training_ends_at_the_final_sparsity(framework):
    x, y, _, _ = datasets.load_digits(layout="NHWC" if framework == "keras" else "NCHW", limit=64)
    model = models.baseline(framework)
    history = pruning.prune_during_training(model, x, y, final_sparsity=0.6, epochs=2, frequency=1, progress=False)
    assert history["sparsity"][-1] == pytest.approx(0.6, abs=1e-3)
    assert pruning.model_sparsity(model) == pytest.approx(0.6, abs=1e-3)


def test_sensitivity_analysis_measures_each_layer_and_restores_it():
    x, y, _, _ = datasets.load_digits(layout="NCHW", limit=40)
    model = models.baseline("torch")
    before = pruning.prunable_weights(model)
    rows = pruning.sensitivity_analysis(model, x, y, sparsities=(0.5, 0.9), layers=["stem.0", "logits"], progress=False)
    assert [(r["layer"], r["sparsity"]) for r in rows] == [
        ("stem.0", 0.0),
        ("stem.0", 0.5),
        ("stem.0", 0.9),
        ("logits", 0.0),
        ("logits", 0.5),
        ("logits", 0.9),
    ]
    after = pruning.prunable_weights(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_size_report_shows_sparsity_shrinks_the_compressed_file_not_the_ram():
    model = models.baseline("keras")
    dense = pruning.size_report(model)
    pruning.prune(model, 0.8)
    sparse = pruning.size_report(model)
    assert sparse["dense_bytes"] == dense["dense_bytes"]
    assert sparse["compressed_bytes"] < 0.6 * dense["compressed_bytes"]
    assert sparse["peak_activation_bytes"] == dense["peak_activation_bytes"]


def test_prune_channels_keras_removes_channels_and_macs():
    model = models.baseline("keras")
    stem = model.get_layer("stem_conv").filters
    smaller = pruning.prune_channels(model, 0.5)
    assert smaller.get_layer("stem_conv").filters == stem // 2
    assert smaller.get_layer("block0_depthwise_conv").get_weights()[0].shape == (3, 3, stem // 2, 1)
    assert smaller.get_layer("logits").filters == 10  # the classifier's filters are the outputs: kept
    assert profile(smaller).macs < 0.5 * profile(model).macs
    assert smaller.output_shape == model.output_shape


def test_prune_channels_keras_with_ratio_zero_keeps_the_function():
    model = models.baseline("keras")
    x = np.random.default_rng(0).random((3, 32, 32, 1), dtype=np.float32)
    same = pruning.prune_channels(model, 0.0)
    np.testing.assert_allclose(np.asarray(same(x)), np.asarray(model(x)), atol=1e-6)


def test_prune_channels_torch_keeps_the_strongest_filters_and_the_function_on_them():
    model = models.baseline("torch").eval()
    half = model.stem[0].out_channels // 2
    with torch.no_grad():  # make the first half of the stem's filters strong, and a later weak one irrelevant
        model.stem[0].weight[:half] *= 100
    smaller = pruning.prune_channels(model, 0.5).eval()
    assert smaller.stem[0].out_channels == half and smaller.block0.depthwise[0].groups == half
    torch.testing.assert_close(smaller.stem[0].weight, model.stem[0].weight[:half])
    assert smaller(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    assert profile(smaller, input_shape=(1, 1, 32, 32)).macs < 0.5 * profile(model, input_shape=(1, 1, 32, 32)).macs


def test_prune_channels_rejects_a_residual_model_clearly():
    model = models.mobilenet_v2(width=0.5, framework="torch")
    with pytest.raises(ValueError, match="nn.Sequential"):
        pruning.prune_channels(model, 0.5)


def test_prune_channels_rejects_an_add_layer_clearly():
    model = models.mobilenet_v2(width=0.5, framework="keras")
    with pytest.raises(ValueError, match="not supported by prune_channels"):
        pruning.prune_channels(model, 0.5)


def test_prune_channels_rounds_kept_filters_to_a_multiple():
    smaller = pruning.prune_channels(models.baseline("torch"), 0.4, multiple_of=8)
    assert all(count % 8 == 0 for count in smaller.pruned_channels.values())


def test_prune_channels_rejects_a_flatten_of_a_feature_map_clearly():
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=r"flattens a \(6, 6, 4\) feature map; .*only of a 1x1 map"):
        pruning.prune_channels(model, 0.5)


def test_torch_prune_channels_refuses_a_flatten_of_a_map_larger_than_1x1():
    import torch
    from torch import nn

    from scaledown.compress.pruning import prune_channels

    model = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3)
    )
    model(torch.zeros(1, 1, 8, 8))  # the model itself is fine
    with pytest.raises(ValueError, match="takes 128 features from a map of 8 channels"):
        prune_channels(model, 0.5)
    pooled = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    pruned = prune_channels(pooled, 0.5)
    assert pruned(torch.zeros(1, 1, 8, 8)).shape == (1, 3)


def test_measure_latencies_takes_turns_and_keeps_each_models_fastest_median(monkeypatch):
    from scaledown.compress.pruning import latency

    medians = {"dense": iter([0.54, 0.35, 0.54]), "pruned": iter([0.19, 0.18, 0.20])}
    order = []

    def one_median(model, sample, **options):
        order.append(model)
        assert options == {"repeats": 7}
        return next(medians[model])

    monkeypatch.setattr(latency, "measure_latency", one_median)
    assert pruning.measure_latencies(["dense", "pruned"], None, 3, repeats=7) == [0.35, 0.18]
    assert order == ["dense", "pruned"] * 3
