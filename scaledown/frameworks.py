"""Which framework a model belongs to — decided once, at the edge, without importing either."""
import sys


def framework_of(model, argument: str = "model") -> str:
    """``"torch"`` for a ``torch.nn.Module``, ``"keras"`` for a ``keras.Model``.

    A framework that was never imported cannot own the model, so nothing is imported here.

    Raises
    ------
    TypeError
        For any other object, naming ``argument`` and what is accepted.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(model, keras.Model):
        return "keras"
    raise TypeError(f"{argument}={type(model).__name__} is not supported; pass a keras.Model or a torch.nn.Module.")
