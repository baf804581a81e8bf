"""Framework detection at the edge."""

import keras
import pytest
import torch

from scaledown.foundations.frameworks import framework_of


def test_detects_keras_and_torch():
    assert framework_of(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) == "keras"
    assert framework_of(torch.nn.Linear(2, 1)) == "torch"


def test_other_objects_are_a_clear_error_naming_the_argument():
    with pytest.raises(TypeError, match=r"teacher=list is not supported; pass a keras.Model or a torch.nn.Module"):
        framework_of([], "teacher")


def test_tf_keras_models_count_as_keras_and_optional_detection_returns_none():
    import tf_keras

    assert framework_of(tf_keras.Sequential([tf_keras.layers.Dense(1, input_shape=(2,))])) == "keras"
    assert framework_of("model.onnx", required=False) is None


def test_the_package_asks_which_framework_in_one_place_only():
    import pathlib
    import re

    package = pathlib.Path(__file__).resolve().parents[1] / "scaledown"
    checks = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "frameworks.py" and re.search(r"isinstance\([^)]*torch\.nn\.Module\)", p.read_text())
    ]
    assert not checks, f"framework dispatch outside scaledown/foundations/frameworks.py: {checks}"
