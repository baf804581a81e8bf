"""Measured latency of a (pruned) model on this CPU."""

from __future__ import annotations

import numpy as np

from scaledown.foundations.frameworks import framework_of
from scaledown.foundations.timing import median_ms


def measure_latency(model, sample, repeats=100, warmup=10, reference_kernels=False):
    """Median milliseconds for one forward pass of ``sample`` on this CPU, single thread.

    Keras models are converted to a float32 ``.tflite`` and run by LiteRT (the runtime a
    phone or a Raspberry Pi uses); ``reference_kernels=True`` runs LiteRT's plain reference
    kernels instead of the optimised ones: loops like TensorFlow Lite Micro's portable
    kernels, whose time follows the MACs as on a microcontroller. PyTorch models run
    eagerly under ``torch.no_grad``. ``sample`` is one batch in the model's layout, e.g. ``x[:1]``.
    """
    sample = np.asarray(sample, np.float32)
    if framework_of(model) == "torch":
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        model.eval()
        tensor = torch.from_numpy(sample)
        run = lambda: model(tensor)  # noqa: E731
        try:
            with torch.no_grad():
                return median_ms(run, repeats, warmup)
        finally:
            torch.set_num_threads(threads)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from scaledown.compress.quantization.tensorflow import float_tflite

    resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    interpreter = Interpreter(model_content=float_tflite(model), num_threads=1, experimental_op_resolver_type=resolver)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, sample.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, sample)
    return median_ms(interpreter.invoke, repeats, warmup)


def measure_latencies(models, sample, rounds=5, **options):
    """Each model's fastest median over ``rounds`` rounds that take turns (A, B, A, B, ...), in ms.

    Compare models with this, not with one :func:`measure_latency` each: a median of a few
    hundred sub-millisecond runs can land in a slow spell of a shared machine. Taking turns
    exposes every model to the same spells, and the fastest round is the least disturbed, so
    a ratio compares like with like. ``options`` go to :func:`measure_latency`.
    """
    fastest = [float("inf")] * len(models)
    for _ in range(rounds):
        for i, model in enumerate(models):
            fastest[i] = min(fastest[i], measure_latency(model, sample, **options))
    return fastest
