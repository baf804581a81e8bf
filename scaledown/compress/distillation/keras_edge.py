"""Keras side of distillation: the hint layers as extra model outputs, and a ``tf.function`` training step."""

from __future__ import annotations

from scaledown.compress.distillation.losses import HintLoss, check_hint_shapes


def build_step(kd):
    """The distiller's training step for Keras models: a ``tf.function`` of (x, y) → (total, hard, distill)."""
    import keras
    import tensorflow as tf

    teacher, student = kd.teacher, kd.student
    if isinstance(kd.distillation_loss, HintLoss):
        t_layer = _keras_layer(teacher, kd.distillation_loss.teacher_layer, "teacher_layer")
        s_layer = _keras_layer(student, kd.distillation_loss.student_layer, "student_layer")
        check_hint_shapes(tuple(t_layer.output.shape[1:3]), tuple(s_layer.output.shape[1:3]))
        teacher = keras.Model(teacher.inputs, [teacher.outputs[0], t_layer.output])
        student = keras.Model(student.inputs, [student.outputs[0], s_layer.output])
        kd.regressor = keras.layers.Conv2D(t_layer.output.shape[-1], 1, name="hint_regressor")
        kd.regressor.build(s_layer.output.shape)
    kd._teacher_run, kd._student_run = teacher, student
    kd._variables = list(kd.student.trainable_variables) + (
        list(kd.regressor.trainable_variables) if kd.regressor is not None else []
    )
    kd.optimizer.build(kd._variables)
    has_features = kd.regressor is not None

    def as_tuple(outputs):  # (logits,) or (logits, features)
        return tuple(outputs) if has_features else (outputs,)

    def step(x, y):
        teacher_out = as_tuple(kd._teacher_run(x, training=False))
        with tf.GradientTape() as tape:
            student_out = as_tuple(kd._student_run(x, training=True))
            total, hard, distill = kd._terms(teacher_out, student_out, y, keras.ops)
        gradients = tape.gradient(total, kd._variables)
        kd.optimizer.apply_gradients(zip(gradients, kd._variables))
        return total, hard, distill

    return tf.function(step, reduce_retracing=True, autograph=False)  # no tensor-dependent Python control flow


def _keras_layer(model, name, argument):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(
            f"{argument}={name!r} is not a layer of the model; use a name from "
            f"[layer.name for layer in model.layers], e.g. {[layer.name for layer in model.layers[1:4]]}."
        ) from None
