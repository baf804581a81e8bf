"""The distillation losses: soft targets (Hinton et al., 2015), hints (FitNets), cross-entropy — for both frameworks."""

from __future__ import annotations

import sys


def _is_torch(tensor):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(tensor, torch.Tensor)


def soft_target_loss(teacher_logits, student_logits, temperature=1.0):
    """``KL(softmax(teacher / T) ‖ softmax(student / T))``, averaged over the batch (no ``T²``).

    Parameters
    ----------
    teacher_logits, student_logits : array (batch, classes)
        Torch tensors (the result is a torch scalar), or TensorFlow tensors / NumPy arrays
        (the result is a TensorFlow scalar; ``float(...)`` gives a number).
    temperature : float > 0

    Returns
    -------
    scalar tensor
        ``mean_i sum_c p_ic (log p_ic - log q_ic)`` with ``p = softmax(teacher / T)``,
        ``q = softmax(student / T)``.
    """
    if not temperature > 0:
        raise ValueError(f"temperature={temperature!r} is not valid; use a number greater than 0, e.g. 4.")
    if _is_torch(student_logits):
        import torch.nn.functional as F

        log_p = F.log_softmax(teacher_logits / temperature, dim=-1)
        log_q = F.log_softmax(student_logits / temperature, dim=-1)
        return (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean()
    import tensorflow as tf

    log_p = tf.nn.log_softmax(tf.cast(teacher_logits, tf.float32) / temperature, axis=-1)
    log_q = tf.nn.log_softmax(tf.cast(student_logits, tf.float32) / temperature, axis=-1)
    return tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1))


class SoftTargetLoss:
    """Hinton et al.'s soft-target loss: ``soft_target_loss`` at the ``KnowledgeDistillation``'s temperature.

    Called as ``loss(teacher_logits, student_logits, temperature)``; the ``T²`` factor is
    applied by ``KnowledgeDistillation``.
    """

    def __call__(self, teacher_logits, student_logits, temperature=1.0):
        return soft_target_loss(teacher_logits, student_logits, temperature)

    def __repr__(self):
        return "SoftTargetLoss()"


class CrossEntropyLoss:
    """Cross-entropy of integer labels ``y`` (batch,) and logits (batch, classes), averaged: the student's own loss."""

    def __call__(self, labels, logits):
        if _is_torch(logits):
            import torch.nn.functional as F

            return F.cross_entropy(logits, labels.long())
        import tensorflow as tf

        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int64), logits))

    def __repr__(self):
        return "CrossEntropyLoss()"


class HintLoss:
    """FitNets hint loss: ``mean((teacher_features - regressor(student_features)) ** 2)``.

    Parameters
    ----------
    teacher_layer, student_layer : str
        Keras layer names or PyTorch module paths (``dict(model.named_modules())``) whose
        outputs are the hint (teacher) and the guided features (student). Both must be
        feature maps with the same height and width; the 1×1 convolution regressor, created
        and trained by ``KnowledgeDistillation``, maps the student's channels to the teacher's.
    """

    def __init__(self, teacher_layer, student_layer):
        for name, value in (("teacher_layer", teacher_layer), ("student_layer", student_layer)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name}={value!r} is not valid; use a layer name (Keras) or module path (PyTorch).")
        self.teacher_layer, self.student_layer = teacher_layer, student_layer

    def __call__(self, teacher_features, regressed_student_features):
        if _is_torch(regressed_student_features):
            return ((teacher_features - regressed_student_features) ** 2).mean()
        import tensorflow as tf

        return tf.reduce_mean(tf.square(teacher_features - regressed_student_features))

    def __repr__(self):
        return f"HintLoss(teacher_layer={self.teacher_layer!r}, student_layer={self.student_layer!r})"


def check_hint_shapes(teacher_hw, student_hw):
    if teacher_hw != student_hw:
        raise ValueError(
            f"the hint layers have different feature-map sizes (teacher {teacher_hw}, student "
            f"{student_hw}); pick layers with the same height and width."
        )
