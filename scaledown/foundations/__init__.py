"""Part 1 of the course, foundations (chapters 0 and 1): what everything else builds on.

``datasets``     the course's data sets, shipped or checked by sha256 (digits, IMU streams, CIFAR-10, ...)
``models``       architectures as data (``ArchitectureSpec``), built in Keras or PyTorch
``hardware``     the boards the course targets, and ``profile``: does a model fit, how fast is it
``training``     short training loops and accuracy for Keras and PyTorch
``frameworks``   ``framework_of(model)``: the one place that tells Keras from PyTorch
``config``       quick mode (``pick(full=..., quick=...)``)
``timing``       medians of repeated timings

Imports nothing from the other parts.
"""
