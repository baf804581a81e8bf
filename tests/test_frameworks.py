"""Framework detection at the edge."""
import keras
import pytest
import torch

from scaledown.frameworks import framework_of


def test_detects_keras_and_torch():
    assert framework_of(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) == "keras"
    assert framework_of(torch.nn.Linear(2, 1)) == "torch"


def test_other_objects_are_a_clear_error_naming_the_argument():
    with pytest.raises(TypeError, match=r"teacher=list is not supported; pass a keras.Model or a torch.nn.Module"):
        framework_of([], "teacher")
