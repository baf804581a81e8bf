"""Part 2 of the course, compression (chapters 2 to 5): make the model smaller and faster.

``quantization``  int8 arithmetic, calibration, PTQ and QAT with LiteRT, ONNX Runtime and OpenVINO
``pruning``       masks and sparsity schedules (unstructured), filter pruning (structured)
``distillation``  the distillation losses and ``KnowledgeDistillation``, in Keras and PyTorch
``nas``           architecture search under a board's limits

Imports only from :mod:`scaledown.foundations`.
"""
