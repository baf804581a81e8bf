"""PyTorch side of distillation: forward hooks for hint layers, the regressor, and the training step."""

from __future__ import annotations

from scaledown.compress.distillation.losses import HintLoss, check_hint_shapes


def build_step(kd):
    """The distiller's training step for PyTorch models; hint features come from forward hooks."""
    kd._features = {}
    if isinstance(kd.distillation_loss, HintLoss):
        for role, model, name in (
            ("teacher", kd.teacher, kd.distillation_loss.teacher_layer),
            ("student", kd.student, kd.distillation_loss.student_layer),
        ):
            modules = dict(model.named_modules())
            if name not in modules:
                raise ValueError(
                    f"{role}_layer={name!r} is not a module of the {role}; use a path from "
                    f"dict({role}.named_modules()), e.g. {list(modules)[1:4]}."
                )
            modules[name].register_forward_hook(
                lambda module, inputs, output, role=role: kd._features.__setitem__(role, output)
            )
    return lambda x, y: _step(kd, x, y)


def _build_regressor(kd, x):
    import torch

    with torch.no_grad():
        kd.teacher.eval(), kd.student.eval()
        kd.teacher(x[:1]), kd.student(x[:1])
    teacher_features, student_features = kd._features["teacher"], kd._features["student"]
    check_hint_shapes(tuple(teacher_features.shape[2:]), tuple(student_features.shape[2:]))
    kd.regressor = torch.nn.Conv2d(student_features.shape[1], teacher_features.shape[1], 1)
    kd.optimizer.add_param_group({"params": list(kd.regressor.parameters())})


def _step(kd, x, y):
    import torch
    import torch.nn.functional as F

    if isinstance(kd.distillation_loss, HintLoss) and kd.regressor is None:
        _build_regressor(kd, x)
    kd.teacher.eval()
    with torch.no_grad():
        teacher_out = (kd.teacher(x), kd._features.get("teacher"))
    kd.student.train()
    kd.optimizer.zero_grad()
    student_out = (kd.student(x), kd._features.get("student"))
    total, hard, distill = kd._terms(teacher_out, student_out, y, F)
    total.backward()
    kd.optimizer.step()
    if kd.lr_scheduler is not None:
        kd.lr_scheduler.step()
    return total.detach(), hard.detach(), distill.detach()
