"""Knowledge distillation: train a small student to imitate a large teacher, in Keras or PyTorch.

    kd = KnowledgeDistillation(teacher, student, optimizer, distillation_loss, student_loss,
                               alpha=0.1, temperature=4.0)
    loss = kd.train_step((x_batch, y_batch))      # one optimiser step; the total loss as a float
    history = kd.fit(x, y, epochs=10, batch_size=32)

The loss of one batch (Hinton et al., 2015), with ``alpha`` weighting the student's own loss:

    loss = alpha * student_loss(y, student) + (1 - alpha) * T² * KL(softmax(teacher / T) ‖ softmax(student / T))

A temperature ``T > 1`` softens both distributions so that the teacher's small
probabilities — which wrong classes look alike — carry signal; ``T²`` keeps the soft term's
gradients on the same scale as the hard one's when ``T`` changes. With a ``HintLoss``
(FitNets, Romero et al., 2015) the distillation term is instead the mean squared error
between the teacher's features at one layer and the student's features at another, mapped
to the teacher's channels by a learned 1×1 convolution (no ``T²``).

Losses can be scaledown's (``SoftTargetLoss``, ``HintLoss``, ``CrossEntropyLoss``: they
take logits and work in both frameworks) or the framework's own loss objects, which are
called the framework's way:

=====================  ======================================================================
Keras                  ``distillation_loss(softmax(teacher/T), softmax(student/T))``, e.g.
                       ``keras.losses.KLDivergence()``; ``student_loss(y, student_logits)``,
                       e.g. ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``
PyTorch                ``distillation_loss(log_softmax(student/T), softmax(teacher/T))``, e.g.
                       ``nn.KLDivLoss(reduction="batchmean")``; ``student_loss(student_logits, y)``,
                       e.g. ``nn.CrossEntropyLoss()``
=====================  ======================================================================

Both are multiplied by ``T²`` for the distillation term. The teacher is only run, in
inference mode; only the student (and a hint regressor) learns.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from scaledown.frameworks import framework_of

FRAMEWORKS = ("keras", "torch")


# --- the losses --------------------------------------------------------------------------------

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


# --- the trainer -------------------------------------------------------------------------------

class KnowledgeDistillation:
    """Distil ``teacher`` into ``student`` (both Keras or both PyTorch).

    Parameters
    ----------
    teacher, student : keras.Model or torch.nn.Module
        Classifiers that output logits ``(batch, classes)`` for the same inputs (NHWC for
        Keras, NCHW for PyTorch). The teacher is trained already and is not changed.
    optimizer : keras.optimizers.Optimizer or torch.optim.Optimizer
        Updates the student (PyTorch: built on ``student.parameters()``; a hint regressor's
        parameters are added to it).
    distillation_loss : SoftTargetLoss, HintLoss or a framework loss object, optional
        ``SoftTargetLoss()`` by default. See the module docstring for how framework losses are called.
    student_loss : CrossEntropyLoss or a framework loss object, optional
        ``CrossEntropyLoss()`` by default.
    alpha : float in [0, 1]
        Weight of the student loss; the distillation loss gets ``1 - alpha``.
    temperature : float > 0
        Softmax temperature ``T`` of the soft targets.
    lr_scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        PyTorch only: stepped after every optimiser step (Keras optimisers take a schedule
        as their learning rate instead).

    Attributes
    ----------
    framework : {"keras", "torch"}
    last_losses : dict
        ``{"loss", "student_loss", "distillation_loss"}`` of the last ``train_step``, as floats;
        ``distillation_loss`` includes the ``T²`` factor, so ``loss = alpha * student_loss +
        (1 - alpha) * distillation_loss``.
    regressor : keras.layers.Conv2D or torch.nn.Conv2d or None
        The hint loss's 1×1 regressor (``None`` without a ``HintLoss``; PyTorch creates it at
        the first ``train_step``).
    """

    def __init__(self, teacher, student, optimizer, distillation_loss=None, student_loss=None, *, alpha=0.1,
                 temperature=4.0, lr_scheduler=None):
        teacher_fw, student_fw = framework_of(teacher, "teacher"), framework_of(student, "student")
        if teacher_fw != student_fw:
            raise ValueError(f"teacher is a {teacher_fw} model and student a {student_fw} model; "
                             "KnowledgeDistillation needs both from the same framework.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise ValueError(f"alpha={alpha!r} is not valid; use a weight in [0, 1] (1 = student loss only).")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"temperature={temperature!r} is not valid; use a number greater than 0, e.g. 4.")
        self.framework = teacher_fw
        self.teacher, self.student, self.optimizer = teacher, student, optimizer
        self.distillation_loss = SoftTargetLoss() if distillation_loss is None else distillation_loss
        self.student_loss = CrossEntropyLoss() if student_loss is None else student_loss
        self.alpha, self.temperature = float(alpha), float(temperature)
        self.last_losses = {}
        self.regressor = None
        if lr_scheduler is not None and teacher_fw != "torch":
            raise ValueError("lr_scheduler is for PyTorch models; give a Keras optimizer a schedule as its "
                             "learning_rate instead.")
        self.lr_scheduler = lr_scheduler
        self._check_optimizer()
        if self.framework == "keras":
            self._init_keras()
        else:
            self._init_torch()

    def _check_optimizer(self):
        if self.framework == "torch":
            import torch

            ok = isinstance(self.optimizer, torch.optim.Optimizer)
        else:
            import keras

            ok = isinstance(self.optimizer, keras.optimizers.Optimizer)
        if not ok:
            expected = "a torch.optim.Optimizer" if self.framework == "torch" else "a keras.optimizers.Optimizer"
            raise TypeError(f"optimizer={type(self.optimizer).__name__} is not valid for {self.framework} models; "
                            f"use {expected}.")

    # The distillation and student terms, shared by both frameworks: only the tensor ops differ.
    def _terms(self, teacher_out, student_out, y, ops):
        teacher_logits, student_logits = teacher_out[0], student_out[0]
        loss, T = self.distillation_loss, self.temperature
        if isinstance(loss, HintLoss):
            distill = loss(teacher_out[1], self.regressor(student_out[1]))
        elif isinstance(loss, SoftTargetLoss):
            distill = T * T * loss(teacher_logits, student_logits, T)
        elif self.framework == "keras":
            distill = T * T * loss(ops.softmax(teacher_logits / T), ops.softmax(student_logits / T))
        else:
            distill = T * T * loss(ops.log_softmax(student_logits / T, dim=-1), ops.softmax(teacher_logits / T, dim=-1))
        if isinstance(self.student_loss, CrossEntropyLoss) or self.framework == "keras":
            hard = self.student_loss(y, student_logits)
        else:
            hard = self.student_loss(student_logits, y)
        return self.alpha * hard + (1 - self.alpha) * distill, hard, distill

    # --- Keras ---------------------------------------------------------------------------------
    def _init_keras(self):
        import keras
        import tensorflow as tf

        teacher, student = self.teacher, self.student
        if isinstance(self.distillation_loss, HintLoss):
            t_layer = _keras_layer(teacher, self.distillation_loss.teacher_layer, "teacher_layer")
            s_layer = _keras_layer(student, self.distillation_loss.student_layer, "student_layer")
            _check_hint_shapes(tuple(t_layer.output.shape[1:3]), tuple(s_layer.output.shape[1:3]))
            teacher = keras.Model(teacher.inputs, [teacher.outputs[0], t_layer.output])
            student = keras.Model(student.inputs, [student.outputs[0], s_layer.output])
            self.regressor = keras.layers.Conv2D(t_layer.output.shape[-1], 1, name="hint_regressor")
            self.regressor.build(s_layer.output.shape)
        self._teacher_run, self._student_run = teacher, student
        self._variables = list(self.student.trainable_variables) + (
            list(self.regressor.trainable_variables) if self.regressor is not None else [])
        self.optimizer.build(self._variables)
        has_features = self.regressor is not None

        def as_tuple(outputs):  # (logits,) or (logits, features)
            return tuple(outputs) if has_features else (outputs,)

        def step(x, y):
            teacher_out = as_tuple(self._teacher_run(x, training=False))
            with tf.GradientTape() as tape:
                student_out = as_tuple(self._student_run(x, training=True))
                total, hard, distill = self._terms(teacher_out, student_out, y, keras.ops)
            gradients = tape.gradient(total, self._variables)
            self.optimizer.apply_gradients(zip(gradients, self._variables))
            return total, hard, distill

        self._keras_step = tf.function(step, reduce_retracing=True, autograph=False)  # no tensor-dependent Python control flow

    # --- PyTorch -------------------------------------------------------------------------------
    def _init_torch(self):
        self._features = {}
        if isinstance(self.distillation_loss, HintLoss):
            for role, model, name in (("teacher", self.teacher, self.distillation_loss.teacher_layer),
                                      ("student", self.student, self.distillation_loss.student_layer)):
                modules = dict(model.named_modules())
                if name not in modules:
                    raise ValueError(f"{role}_layer={name!r} is not a module of the {role}; use a path from "
                                     f"dict({role}.named_modules()), e.g. {list(modules)[1:4]}.")
                modules[name].register_forward_hook(
                    lambda module, inputs, output, role=role: self._features.__setitem__(role, output))

    def _build_torch_regressor(self, x):
        import torch

        with torch.no_grad():
            self.teacher.eval(), self.student.eval()
            self.teacher(x[:1]), self.student(x[:1])
        teacher_features, student_features = self._features["teacher"], self._features["student"]
        _check_hint_shapes(tuple(teacher_features.shape[2:]), tuple(student_features.shape[2:]))
        self.regressor = torch.nn.Conv2d(student_features.shape[1], teacher_features.shape[1], 1)
        self.optimizer.add_param_group({"params": list(self.regressor.parameters())})

    def _torch_step(self, x, y):
        import torch
        import torch.nn.functional as F

        if isinstance(self.distillation_loss, HintLoss) and self.regressor is None:
            self._build_torch_regressor(x)
        self.teacher.eval()
        with torch.no_grad():
            teacher_out = (self.teacher(x), self._features.get("teacher"))
        self.student.train()
        self.optimizer.zero_grad()
        student_out = (self.student(x), self._features.get("student"))
        total, hard, distill = self._terms(teacher_out, student_out, y, F)
        total.backward()
        self.optimizer.step()
        if self.lr_scheduler is not None:
            self.lr_scheduler.step()
        return total.detach(), hard.detach(), distill.detach()

    # --- the public loop -----------------------------------------------------------------------
    def train_step(self, data):
        """One optimiser step on ``data = (x_batch, y_batch)``; returns the total loss as a float.

        ``x_batch`` is float32 in the models' layout, ``y_batch`` int labels ``(batch,)``;
        NumPy arrays or framework tensors. The three parts are in ``last_losses``.
        """
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise ValueError(f"data={type(data).__name__} is not valid; pass a pair (x_batch, y_batch).")
        x, y = data
        if self.framework == "torch":
            import torch

            x = torch.as_tensor(np.asarray(x, np.float32)) if not torch.is_tensor(x) else x
            y = torch.as_tensor(np.asarray(y), dtype=torch.long) if not torch.is_tensor(y) else y.long()
            total, hard, distill = self._torch_step(x, y)
        else:
            total, hard, distill = self._keras_step(np.asarray(x, np.float32), np.asarray(y, np.int64))
        self.last_losses = {"loss": float(total), "student_loss": float(hard), "distillation_loss": float(distill)}
        return self.last_losses["loss"]

    def predict(self, x, batch_size=256):
        """The student's logits for ``x`` (N, ...) float32, as a NumPy array (N, classes)."""
        if self.framework == "torch":
            from scaledown.training import predict_torch

            return predict_torch(self.student, np.asarray(x, np.float32), batch_size)
        return np.concatenate([np.asarray(self.student(np.asarray(x[i:i + batch_size], np.float32), training=False))
                               for i in range(0, len(x), batch_size)])

    def evaluate(self, x, y):
        """The student's accuracy on ``x`` and int labels ``y``."""
        return float((self.predict(x).argmax(axis=1) == np.asarray(y)).mean())

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, seed=0, progress=True):
        """Run ``train_step`` over shuffled batches of ``x`` (N, ...) float32, ``y`` (N,) int labels.

        Returns
        -------
        dict
            Per-epoch means ``"loss"``, ``"student_loss"``, ``"distillation_loss"``, and
            ``"val_accuracy"`` (the student's) when ``validation_data=(x_val, y_val)`` is given.
        """
        from tqdm.auto import tqdm

        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs={epochs!r} is not valid; use a positive integer.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is not valid; use a positive integer.")
        x, y = np.asarray(x, np.float32), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples and y {len(y)}; pass one label per sample.")
        rng = np.random.default_rng(seed)
        history = {"loss": [], "student_loss": [], "distillation_loss": []}
        if validation_data is not None:
            history["val_accuracy"] = []
        num_batches = math.ceil(len(x) / batch_size)
        with tqdm(total=epochs, desc="distilling", disable=not progress) as bar:
            for _ in range(epochs):
                order = rng.permutation(len(x))
                sums = dict.fromkeys(("loss", "student_loss", "distillation_loss"), 0.0)
                for b in range(num_batches):
                    index = order[b * batch_size:(b + 1) * batch_size]
                    self.train_step((x[index], y[index]))
                    for key in sums:
                        sums[key] += self.last_losses[key] * len(index)
                for key, total in sums.items():
                    history[key].append(total / len(x))
                if validation_data is not None:
                    history["val_accuracy"].append(self.evaluate(*validation_data))
                bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items()})
                bar.update(1)
        return history


def _keras_layer(model, name, argument):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"{argument}={name!r} is not a layer of the model; use a name from "
                         f"[layer.name for layer in model.layers], e.g. {[l.name for l in model.layers[1:4]]}.") from None


def _check_hint_shapes(teacher_hw, student_hw):
    if teacher_hw != student_hw:
        raise ValueError(f"the hint layers have different feature-map sizes (teacher {teacher_hw}, student "
                         f"{student_hw}); pick layers with the same height and width.")
