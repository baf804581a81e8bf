"""What an untrained model lacks when you measure it: batch-norm layers that are not all alike."""


def randomize_batchnorm(model, seed=0):
    """Give every batch-norm layer of an untrained ``model`` distinct random parameters and statistics, in place.

    Converters store identical constant tensors once. In an untrained model every
    BN has gamma = 1, beta = 0, mean = 0, variance = 1, so after folding many biases are
    identical zeros and the file comes out smaller than a trained model's ever would. To
    measure file sizes without training, randomise BN first. Returns ``model``.
    """
    import numpy as np

    from scaledown.foundations.frameworks import framework_of

    rng = np.random.default_rng(seed)
    if framework_of(model) == "torch":
        import torch

        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    n = module.num_features
                    module.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, n).astype("float32")))
                    module.bias.copy_(torch.from_numpy(rng.normal(0, 0.1, n).astype("float32")))
                    module.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.1, n).astype("float32")))
                    module.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, n).astype("float32")))
        return model
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]  # gamma, beta, moving mean, moving variance
            draws = [
                rng.uniform(0.5, 1.5, shapes[0]),
                rng.normal(0, 0.1, shapes[1]),
                rng.normal(0, 0.1, shapes[2]),
                rng.uniform(0.5, 1.5, shapes[3]),
            ]
            layer.set_weights([d.astype("float32") for d in draws])
    return model
