"""Knowledge distillation: the losses against hand computation, then real Keras and PyTorch pairs on a few digits."""

import keras
import numpy as np
import pytest
import torch

from scaledown.compress.distillation import CrossEntropyLoss, HintLoss, KnowledgeDistillation, soft_target_loss
from scaledown.foundations import datasets, models


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _student():
    return dict(width=0.25, depth=0.5)


LOGITS = np.random.default_rng(0).normal(size=(2, 4, 10)).astype(np.float32) * 3


def test_soft_target_loss_is_kl_of_softened_distributions():
    teacher, student = LOGITS
    p, q = _softmax(teacher / 4), _softmax(student / 4)
    expected = np.mean(np.sum(p * np.log(p / q), axis=1))
    assert float(soft_target_loss(teacher, student, temperature=4)) == pytest.approx(expected, rel=1e-4)


def test_soft_target_loss_agrees_between_frameworks():
    teacher, student = LOGITS
    tf_value = float(soft_target_loss(teacher, student, 2.0))
    torch_value = float(soft_target_loss(torch.from_numpy(teacher), torch.from_numpy(student), 2.0))
    assert tf_value == pytest.approx(torch_value, rel=1e-5)


def test_soft_target_loss_is_zero_when_student_matches_teacher():
    assert float(soft_target_loss(LOGITS[0], LOGITS[0], 3.0)) == pytest.approx(0.0, abs=1e-6)


def test_keras_train_step_returns_the_weighted_total_as_a_float():
    x, y, _, _ = datasets.load_digits(limit=32)
    kd = KnowledgeDistillation(
        models.baseline("keras"),
        models.mobilenet_v1(**_student()),
        keras.optimizers.Adam(1e-3),
        alpha=0.3,
        temperature=2.0,
    )
    loss = kd.train_step((x, y))
    parts = kd.last_losses
    assert isinstance(loss, float)
    assert loss == pytest.approx(0.3 * parts["student_loss"] + 0.7 * parts["distillation_loss"], rel=1e-5)


def test_keras_distillation_changes_the_student_only():
    x, y, _, _ = datasets.load_digits(limit=32)
    teacher, student = models.baseline("keras"), models.mobilenet_v1(**_student())
    teacher_before, student_before = teacher.get_weights(), student.get_weights()
    KnowledgeDistillation(teacher, student, keras.optimizers.Adam(1e-2)).train_step((x, y))
    assert all(np.array_equal(a, b) for a, b in zip(teacher_before, teacher.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(student_before, student.get_weights()))


def test_torch_fit_lowers_the_loss_and_returns_a_history():
    x, y, xt, yt = datasets.load_digits(layout="NCHW", limit=64)
    teacher, student = models.baseline("torch"), models.mobilenet_v1(**_student(), framework="torch")
    kd = KnowledgeDistillation(
        teacher,
        student,
        torch.optim.Adam(student.parameters(), 3e-3),
        torch.nn.KLDivLoss(reduction="batchmean"),
        torch.nn.CrossEntropyLoss(),
    )
    history = kd.fit(x, y, epochs=3, batch_size=16, validation_data=(xt[:50], yt[:50]), progress=False)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    student.eval()
    with torch.no_grad():
        predicted = student(torch.from_numpy(xt[:50])).argmax(1).numpy()
    assert len(history["val_accuracy"]) == 3
    assert history["val_accuracy"][-1] == np.mean(predicted == yt[:50])  # the student's, after the last epoch


def test_framework_losses_match_scaledown_losses():
    x, y, _, _ = datasets.load_digits(layout="NCHW", limit=16)
    teacher = models.baseline("torch")
    values = []
    for distillation_loss, student_loss in (
        (None, None),
        (torch.nn.KLDivLoss(reduction="batchmean"), torch.nn.CrossEntropyLoss()),
    ):
        torch.manual_seed(0)
        student = models.mobilenet_v1(**_student(), framework="torch")
        kd = KnowledgeDistillation(
            teacher, student, torch.optim.SGD(student.parameters(), 0.0), distillation_loss, student_loss
        )
        values.append(kd.train_step((x, y)))
    assert values[0] == pytest.approx(values[1], rel=1e-5)


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_hint_loss_trains_a_regressor_between_feature_maps(framework):
    layout = "NHWC" if framework == "keras" else "NCHW"
    x, y, _, _ = datasets.load_digits(layout=layout, limit=16)
    teacher, student = models.baseline(framework), models.mobilenet_v1(**_student(), framework=framework)
    names = (
        ("block3_pointwise_relu6", "block2_pointwise_relu6")
        if framework == "keras"
        else ("block3.pointwise", "block2.pointwise")
    )
    optimizer = keras.optimizers.Adam(1e-3) if framework == "keras" else torch.optim.Adam(student.parameters(), 1e-3)
    kd = KnowledgeDistillation(teacher, student, optimizer, HintLoss(*names), CrossEntropyLoss())
    kd.train_step((x, y))
    assert kd.last_losses["distillation_loss"] > 0
    channels_in = kd.regressor.kernel.shape[2] if framework == "keras" else kd.regressor.in_channels
    assert channels_in == 16


def test_torch_hint_loss_is_the_mean_squared_error_of_the_regressed_student_features():
    x, y, _, _ = datasets.load_digits(layout="NCHW", limit=16)
    teacher, student = models.baseline("torch"), models.mobilenet_v1(**_student(), framework="torch")
    kd = KnowledgeDistillation(
        teacher,
        student,
        torch.optim.SGD(student.parameters(), 0.0),
        HintLoss("block3.pointwise", "block2.pointwise"),
        CrossEntropyLoss(),
    )
    kd.train_step((x, y))  # a learning rate of 0: nothing moves, so the loss can be computed again here
    features = {}
    for role, model, name in (("teacher", teacher, "block3.pointwise"), ("student", student, "block2.pointwise")):
        dict(model.named_modules())[name].register_forward_hook(
            lambda module, inputs, output, role=role: features.__setitem__(role, output)
        )
    teacher.eval(), student.train()  # the teacher is fixed; the student trains, BatchNorm on the batch
    with torch.no_grad():
        teacher(torch.from_numpy(x)), student(torch.from_numpy(x))
        expected = ((features["teacher"] - kd.regressor(features["student"])) ** 2).mean()
    assert kd.last_losses["distillation_loss"] == pytest.approx(float(expected), rel=1e-5)


def test_mixing_frameworks_is_a_clear_error():
    with pytest.raises(ValueError, match="same framework"):
        KnowledgeDistillation(models.baseline("keras"), models.baseline("torch"), keras.optimizers.Adam())


def test_alpha_outside_zero_one_is_a_clear_error():
    student = models.baseline("torch")
    with pytest.raises(ValueError, match="alpha=1.5"):
        KnowledgeDistillation(models.baseline("torch"), student, torch.optim.Adam(student.parameters()), alpha=1.5)
