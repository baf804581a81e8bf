"""Part 3 of the course, deployment (chapter 6): a package that runs the model on the board,
checked here on the board's runtime, and the architectures and power budgets around it.

    import scaledown
    package = scaledown.create_deployment_package(model, target="pi", out="build/digits-pi",
                                                  representative_data=x_train[:300])
    model = scaledown.wrap(keras_model, representative_data=x_train[:300])
    model.create_deployment_package(target="nano33ble", out="build/digits-nano")

Read the modules in this order:

``package``  the model file (int8 .tflite or .onnx), its tensor spec, the atomic write
``linux``    Raspberry Pi: folder + .tar.gz, ``predict.py`` on LiteRT or ONNX Runtime, systemd unit
``micro``    microcontrollers: C array, op resolver, measured tensor arena, Arduino and PlatformIO
``wrapper``  ``wrap(model)``: ``model.create_deployment_package(target=...)`` on any model
``cli``      ``scaledown deploy MODEL --target pi --out DIR``

and beside them ``architectures`` (multi-tenancy, shared arenas, placement, cascades) and
``power`` (battery life from a duty cycle). Imports only from foundations and compress.

TensorFlow, PyTorch and the runtimes are imported only when a package is built.
"""

from scaledown.deploy.package import Artefact, DeploymentPackage, DeploymentRefused, create_deployment_package  # noqa: F401
from scaledown.deploy.wrapper import DeployableModel, wrap  # noqa: F401

__all__ = ["create_deployment_package", "wrap", "DeployableModel", "DeploymentPackage", "DeploymentRefused"]
