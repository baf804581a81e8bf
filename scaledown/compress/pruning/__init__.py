"""Pruning: remove weights (unstructured) or whole channels (structured), in Keras and PyTorch.

The algorithms work on NumPy arrays and fit on a screen:

* ``magnitude_mask(w, sparsity)`` zeroes the ``sparsity`` fraction of ``w`` with the
  smallest ``|w|``; ``global_magnitude_masks`` does it with **one threshold for all
  layers** (layers with many small weights lose more), ``layer_magnitude_masks``
  with one threshold **per layer** (every layer loses the same fraction).
* ``polynomial_decay_sparsity(step, ...)`` is the gradual schedule of Zhu & Gupta
  (2017): ``s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (t_1 - t_0)) ** 3``. Prune fast
  while there are many redundant weights, slowly as few remain, and fine-tune in between
  (``prune_during_training``).
* ``sensitivity_analysis`` prunes one layer at a time and measures accuracy: which layers
  can lose most of their weights, and which cannot.
* ``prune_channels`` ranks each convolution's filters by the L1 norm of the filter (after
  folding the BN that follows) and **rebuilds a smaller model**: fewer filters in the
  conv, the matching channels of its BN and of the depthwise conv that follows, fewer
  input channels in the next conv or dense layer. MACs and latency fall, not only weights.

What unstructured sparsity buys: zeros compress, so the *file* shrinks (``size_report``
gzips the weights); a dense kernel still stores and multiplies every zero, so *RAM* and
latency do not change (activations are as large as before) unless a sparse kernel runs it.

Framework plumbing sits at the edge: prunable weights are the kernels of ``Conv2D`` and
``Dense`` layers (Keras, named by layer) and the ``weight`` of ``nn.Conv2d`` and
``nn.Linear`` modules (PyTorch, named by module path). Depthwise convolutions are left out
unless named in ``layers=`` (as tfmot does): each channel's k×k kernel is its only spatial
filter, so pruning it costs much accuracy for very few bytes. Biases and BN parameters are
never pruned.

Modules: ``masks`` (the algorithms on arrays), ``weights`` (which weights, read and
write, sizes), ``sensitivity``, ``gradual`` (pruning while fine-tuning), ``structured``
(channels, framework-free), ``keras_edge`` and ``torch_edge`` (each framework's loops and
rebuilds), ``latency``.
"""

from scaledown.compress.pruning.gradual import prune_during_training  # noqa: F401
from scaledown.compress.pruning.latency import measure_latencies, measure_latency  # noqa: F401
from scaledown.compress.pruning.masks import (  # noqa: F401
    SCOPES,
    global_magnitude_masks,
    layer_magnitude_masks,
    magnitude_mask,
    polynomial_decay_sparsity,
)
from scaledown.compress.pruning.sensitivity import plot_sensitivity, sensitivity_analysis  # noqa: F401
from scaledown.compress.pruning.structured import prune_channels  # noqa: F401
from scaledown.compress.pruning.weights import (  # noqa: F401
    apply_masks,
    compressed_size,
    model_sparsity,
    prunable_weights,
    prune,
    size_report,
    sparsity_table,
)
