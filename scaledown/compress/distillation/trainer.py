"""The distiller: ``KnowledgeDistillation`` (one loss for both frameworks; each builds its own step)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scaledown.compress.distillation.losses import CrossEntropyLoss, HintLoss, SoftTargetLoss
from scaledown.foundations.frameworks import framework_of


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

    def __init__(
        self,
        teacher: Any,
        student: Any,
        optimizer: Any,
        distillation_loss: Any = None,
        student_loss: Any = None,
        *,
        alpha: float = 0.1,
        temperature: float = 4.0,
        lr_scheduler: Any = None,
    ) -> None:
        teacher_fw, student_fw = framework_of(teacher, "teacher"), framework_of(student, "student")
        if teacher_fw != student_fw:
            raise ValueError(
                f"teacher is a {teacher_fw} model and student a {student_fw} model; "
                "KnowledgeDistillation needs both from the same framework."
            )
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
            raise ValueError(
                "lr_scheduler is for PyTorch models; give a Keras optimizer a schedule as its learning_rate instead."
            )
        self.lr_scheduler = lr_scheduler
        self._check_optimizer()
        if self.framework == "keras":  # the framework edge: each builds its own training step
            from scaledown.compress.distillation.keras_edge import build_step
        else:
            from scaledown.compress.distillation.torch_edge import build_step
        self._step = build_step(self)

    def _check_optimizer(self):
        if self.framework == "torch":
            import torch

            ok = isinstance(self.optimizer, torch.optim.Optimizer)
        else:
            import keras

            ok = isinstance(self.optimizer, keras.optimizers.Optimizer)
        if not ok:
            expected = "a torch.optim.Optimizer" if self.framework == "torch" else "a keras.optimizers.Optimizer"
            raise TypeError(
                f"optimizer={type(self.optimizer).__name__} is not valid for {self.framework} models; use {expected}."
            )

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

    # --- the public loop -----------------------------------------------------------------------
    def train_step(self, data: tuple) -> float:
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
            total, hard, distill = self._step(x, y)
        else:
            total, hard, distill = self._step(np.asarray(x, np.float32), np.asarray(y, np.int64))
        self.last_losses = {"loss": float(total), "student_loss": float(hard), "distillation_loss": float(distill)}
        return self.last_losses["loss"]

    def predict(self, x, batch_size=256):
        """The student's logits for ``x`` (N, ...) float32, as a NumPy array (N, classes)."""
        if self.framework == "torch":
            from scaledown.foundations.training import predict_torch

            return predict_torch(self.student, np.asarray(x, np.float32), batch_size)
        return np.concatenate(
            [
                np.asarray(self.student(np.asarray(x[i : i + batch_size], np.float32), training=False))
                for i in range(0, len(x), batch_size)
            ]
        )

    def evaluate(self, x, y):
        """The student's accuracy on ``x`` and int labels ``y``."""
        return float((self.predict(x).argmax(axis=1) == np.asarray(y)).mean())

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple | None = None,
        seed: int = 0,
        progress: bool = True,
    ) -> dict:
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
                    index = order[b * batch_size : (b + 1) * batch_size]
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
