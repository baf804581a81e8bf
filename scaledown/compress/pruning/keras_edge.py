"""Keras side of pruning: the fine-tuning loop with masks, and rebuilding a model with fewer channels."""

from __future__ import annotations

import numpy as np

from scaledown.compress.pruning.gradual import _Pruner
from scaledown.compress.pruning.structured import _check_ratios, _prunable_convs, _prune_chain
from scaledown.compress.pruning.weights import model_sparsity


def _prune_train_keras(
    model, x, y, schedule, frequency, scope, names, epochs, batch_size, learning_rate, seed, progress, total_steps
):
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
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    with tqdm(total=epochs, desc="pruning epochs", disable=not progress) as bar:
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True, callbacks=[MaskCallback()])
    pruner.finish()
    history["sparsity"][-1] = model_sparsity(model)
    return history


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
                raise ValueError(
                    f"layer {layer.name!r} has depth_multiplier={layer.depth_multiplier}; prune_channels supports 1."
                )
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
            records.append(
                {
                    "kind": "bn",
                    "name": layer.name,
                    "weights": {str(i): w for i, w in enumerate(weights)},
                    "bn_fold": {"scale": gamma / np.sqrt(arrays["moving_variance"] + layer.epsilon)},
                }
            )
        elif isinstance(layer, keras.layers.Dense):
            records.append(
                {"kind": "dense", "name": layer.name, "weights": _with_bias(np.transpose(weights[0]), weights)}
            )
        elif name == "Flatten" and any(d != 1 for d in layer.input.shape[1:-1]):
            raise ValueError(
                f"layer {layer.name!r} flattens a {tuple(layer.input.shape[1:])} feature map; "
                "prune_channels supports Flatten only of a 1x1 map (after global pooling)."
            )
        elif name in (
            "ReLU",
            "Activation",
            "Dropout",
            "GlobalAveragePooling2D",
            "GlobalMaxPooling2D",
            "MaxPooling2D",
            "AveragePooling2D",
            "LeakyReLU",
            "ZeroPadding2D",
            "Flatten",
        ):
            records.append({"kind": "pass", "name": layer.name})
        else:
            raise ValueError(
                f"layer {layer.name!r} ({name}) is not supported by prune_channels; it handles chains "
                "of Conv2D, DepthwiseConv2D, BatchNormalization, activations, pooling and Dense."
            )
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
