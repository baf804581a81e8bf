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

Modules: ``losses`` (the soft-target, hint and cross-entropy losses), ``trainer``
(``KnowledgeDistillation``), ``keras_edge`` and ``torch_edge`` (each framework's training step).
"""

from scaledown.compress.distillation.losses import CrossEntropyLoss, HintLoss, SoftTargetLoss, soft_target_loss  # noqa: F401
from scaledown.compress.distillation.trainer import KnowledgeDistillation  # noqa: F401

FRAMEWORKS = ("keras", "torch")
