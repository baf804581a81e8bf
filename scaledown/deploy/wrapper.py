"""``scaledown.wrap``: give a Keras or PyTorch model the course's deployment call.

    model = scaledown.wrap(keras_model, representative_data=x_train[:300])
    model.create_deployment_package(target="pi")        # -> DeploymentPackage in ./model-pi4
    model.predict(x)                                    # anything else goes to the Keras model

The wrapper only adds methods; every other attribute and call is the wrapped
model's, so it trains, predicts and saves as before.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from scaledown.foundations.frameworks import framework_of

if TYPE_CHECKING:  # the package module imports wrap(); only the annotation needs this
    from scaledown.deploy.package import DeploymentPackage


class DeployableModel:
    """A Keras or PyTorch model with ``create_deployment_package`` and ``profile``.

    Attributes
    ----------
    model : keras.Model or torch.nn.Module
        The wrapped model (also reachable through any of its own attributes).
    representative_data : ndarray (N, ...) float32 or None
        Example inputs for the int8 conversion, used when a deployment call gives none.
    """

    def __init__(self, model: Any, representative_data: np.ndarray | None = None) -> None:
        if isinstance(model, DeployableModel):
            representative_data = model.representative_data if representative_data is None else representative_data
            model = model.model
        if framework_of(model, required=False) is None:
            raise ValueError(
                f"model is a {type(model).__name__}; scaledown.wrap takes a keras.Model or a "
                "torch.nn.Module (files and QuantizedModels go straight to "
                "scaledown.create_deployment_package)."
            )
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "representative_data", representative_data)

    @property
    def framework(self) -> str:
        """``"keras"`` or ``"torch"``."""
        return framework_of(self.model)

    def create_deployment_package(
        self, target: str = "pi", out: str | os.PathLike | None = None, **options: Any
    ) -> DeploymentPackage:
        """Package this model for ``target``; see :func:`scaledown.create_deployment_package` for ``options``."""
        from scaledown.deploy import create_deployment_package

        if options.get("representative_data") is None:
            options["representative_data"] = self.representative_data
        return create_deployment_package(self.model, target=target, out=out, **options)

    def profile(self, target="nano33ble", **options):
        """:func:`scaledown.profile` of the wrapped model."""
        from scaledown.foundations.hardware import profile

        return profile(self.model, target=target, **options)

    def __call__(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __setattr__(self, name, value):
        if name in ("model", "representative_data"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.model, name, value)

    def __repr__(self):
        return f"DeployableModel({self.framework}: {type(self.model).__name__})"


def wrap(model: Any, representative_data: np.ndarray | None = None) -> DeployableModel:
    """Wrap a Keras or PyTorch model so that ``model.create_deployment_package(target=...)`` works.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A trained float model.
    representative_data : ndarray (N, ...) float32, optional
        A few hundred example inputs in the model's layout, for the int8 conversion.
    """
    return DeployableModel(model, representative_data)
