"""Which framework a model belongs to — decided once, at the edge, without importing either."""

import sys


def framework_of(model, argument: str = "model", *, required: bool = True) -> str | None:
    """``"torch"`` for a ``torch.nn.Module``, ``"keras"`` for a Keras model (``keras`` or ``tf_keras``).

    The one place the package asks which framework a model belongs to; everything else
    dispatches on its answer. A framework that was never imported cannot own the model, so
    nothing is imported here.

    Raises
    ------
    TypeError
        For any other object, naming ``argument`` and what is accepted — or, with
        ``required=False``, returns ``None`` instead.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    if any(cls.__module__.split(".")[0] in ("keras", "tf_keras") for cls in type(model).__mro__):
        return "keras"  # tf_keras: the Keras 2 that tensorflow-model-optimization's QAT builds on
    if not required:
        return None
    raise TypeError(f"{argument}={type(model).__name__} is not supported; pass a keras.Model or a torch.nn.Module.")
