"""The `scaledown` command line: targets, profile, and clear errors for bad input."""

from scaledown import cli


def test_targets_lists_the_catalogue(capsys):
    assert cli.main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "nano33ble" in out and "pi4" in out


def test_profile_of_a_corrupt_file_is_one_clear_sentence(tmp_path, capsys):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer")
    assert cli.main(["profile", str(bad), "--target", "nano33ble"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scaledown: ") and str(bad) in err and len(err.splitlines()) == 1


def test_profile_with_an_unknown_target_names_the_choices(tmp_path, capsys):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"x")
    assert cli.main(["profile", str(bad), "--target", "arduino-uno"]) == 2
    assert "Unknown target 'arduino-uno'" in capsys.readouterr().err


def test_profile_of_a_tflite_file_prints_the_verdict(tmp_path, capsys):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    path = tmp_path / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    assert cli.main(["profile", str(path), "--target", "nano33ble"]) == 0
    assert "FULLY_CONNECTED" in capsys.readouterr().out
