"""PyTorch side of pruning: the fine-tuning loop with masks, and rebuilding a model with fewer channels."""

from __future__ import annotations

import copy

import numpy as np

from scaledown.compress.pruning.gradual import _Pruner
from scaledown.compress.pruning.structured import _check_ratios, _prunable_convs, _prune_chain
from scaledown.compress.pruning.weights import model_sparsity


def _prune_train_torch(
    model, x, y, schedule, frequency, scope, names, epochs, batch_size, learning_rate, seed, progress, total_steps
):
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    pruner = _Pruner(model, schedule, frequency, scope, names)
    history = {"loss": [], "accuracy": [], "sparsity": []}
    for _ in tqdm(range(epochs), desc="pruning epochs", disable=not progress):
        model.train()
        total_loss, correct = 0.0, 0
        for xb, yb in loader:
            pruner.before_step()
            optimizer.zero_grad()
            logits = model(xb)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            loss.backward()
            optimizer.step()
            lr_schedule.step()
            pruner.after_step()
            total_loss += float(loss.detach()) * len(xb)
            correct += int((logits.argmax(1) == yb).sum())
        history["loss"].append(total_loss / len(dataset))
        history["accuracy"].append(correct / len(dataset))
        history["sparsity"].append(model_sparsity(model))
    pruner.finish()
    history["sparsity"][-1] = model_sparsity(model)
    return history


def _prune_channels_torch(model, ratio, min_channels, multiple_of):
    from torch import nn

    for name, module in model.named_modules():
        if list(module.children()) and not isinstance(module, nn.Sequential):
            raise ValueError(
                f"module {name or 'model'!r} ({type(module).__name__}) is not an nn.Sequential; "
                "prune_channels needs a chain whose containers are all nn.Sequential."
            )
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    records, channels = [], None  # channels: what the last convolution outputs
    for name, m in leaves:

        def tensors(**named):
            return {k: v.detach().cpu().numpy().copy() for k, v in named.items() if v is not None}

        if isinstance(m, nn.Conv2d):
            channels = m.out_channels
            if m.groups == 1:
                records.append({"kind": "conv", "name": name, "weights": tensors(weight=m.weight, bias=m.bias)})
            elif m.groups == m.in_channels == m.out_channels:
                records.append({"kind": "depthwise", "name": name, "weights": tensors(weight=m.weight, bias=m.bias)})
            else:
                raise ValueError(f"module {name!r} is a grouped conv (groups={m.groups}); not supported.")
        elif isinstance(m, nn.BatchNorm2d):
            gamma = m.weight.detach().numpy() if m.affine else np.ones(m.num_features, np.float32)
            records.append(
                {
                    "kind": "bn",
                    "name": name,
                    "weights": tensors(
                        weight=m.weight, bias=m.bias, running_mean=m.running_mean, running_var=m.running_var
                    ),
                    "bn_fold": {"scale": gamma / np.sqrt(m.running_var.numpy() + m.eps)},
                }
            )
        elif isinstance(m, nn.Linear):
            if channels is not None and m.in_features != channels:
                raise ValueError(
                    f"module {name!r} takes {m.in_features} features from a map of {channels} channels: "
                    "it flattens a feature map larger than 1x1, and prune_channels supports Flatten only "
                    "of a 1x1 map (after global pooling)."
                )
            channels = None
            records.append({"kind": "dense", "name": name, "weights": tensors(weight=m.weight, bias=m.bias)})
        elif isinstance(
            m,
            (
                nn.ReLU,
                nn.ReLU6,
                nn.Identity,
                nn.Dropout,
                nn.AdaptiveAvgPool2d,
                nn.AdaptiveMaxPool2d,
                nn.MaxPool2d,
                nn.AvgPool2d,
                nn.Flatten,
                nn.Hardswish,
                nn.SiLU,
                nn.LeakyReLU,
            ),
        ):
            records.append({"kind": "pass", "name": name})
        else:
            raise ValueError(
                f"module {name!r} ({type(m).__name__}) is not supported by prune_channels; it handles "
                "chains of Conv2d, BatchNorm2d, activations, pooling, Flatten and Linear."
            )
    conv_names = _prunable_convs(records)
    new_records, kept = _prune_chain(records, _check_ratios(ratio, conv_names), min_channels, multiple_of)

    import torch

    pruned = copy.deepcopy(model)
    modules = dict(pruned.named_modules())
    for record in new_records:
        if record["kind"] == "pass":
            continue
        old, w = modules[record["name"]], {k: torch.from_numpy(v) for k, v in record["weights"].items()}
        if record["kind"] == "conv":
            new = nn.Conv2d(
                w["weight"].shape[1],
                w["weight"].shape[0],
                old.kernel_size,
                old.stride,
                old.padding,
                old.dilation,
                1,
                old.bias is not None,
                old.padding_mode,
            )
        elif record["kind"] == "depthwise":
            channels = w["weight"].shape[0]
            new = nn.Conv2d(
                channels,
                channels,
                old.kernel_size,
                old.stride,
                old.padding,
                old.dilation,
                channels,
                old.bias is not None,
                old.padding_mode,
            )
        elif record["kind"] == "bn":
            new = nn.BatchNorm2d(len(w["running_mean"]), old.eps, old.momentum, old.affine, old.track_running_stats)
            new.running_mean.copy_(w.pop("running_mean"))
            new.running_var.copy_(w.pop("running_var"))
        else:
            new = nn.Linear(w["weight"].shape[1], w["weight"].shape[0], old.bias is not None)
        with torch.no_grad():
            for key, value in w.items():
                getattr(new, key).copy_(value)
        parent_name, _, child = record["name"].rpartition(".")
        setattr(modules[parent_name] if parent_name else pruned, child, new)
    pruned.pruned_channels = kept
    return pruned
