"""TensorFlow Lite: full-integer int8 ``.tflite`` files from Keras models, by PTQ or by QAT.

* PTQ: ``tf.lite.TFLiteConverter`` with a *representative dataset* to calibrate
  activation ranges, ``TFLITE_BUILTINS_INT8`` ops only and int8 input/output —
  the file a microcontroller runs.
* QAT: tensorflow-model-optimization (``tfmot``) wraps layers with fake
  quantization. tfmot works on legacy Keras 2 models (the ``tf_keras``
  package), so ``to_tf_keras`` first rebuilds the Keras 3 model there, layer by
  layer, with the same weights.

``run_tflite`` runs a ``.tflite`` on LiteRT (the phone/desktop runtime) or on
the TensorFlow Lite Micro interpreter (the microcontroller runtime), quantizing
the float input and dequantizing the output with the tensors' scale and zero point.
"""

import contextlib
import io
import pathlib

import numpy as np


def _convert(converter):
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints where it saved its temporary model
        return converter.convert()


def float_tflite(model):
    """The float32 ``.tflite`` of a Keras model, as bytes (the baseline)."""
    import tensorflow as tf

    return _convert(tf.lite.TFLiteConverter.from_keras_model(model))


def _int8_converter(converter, x_calibration=None, num_samples=300):
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if x_calibration is not None:  # PTQ; a QAT model carries its ranges in its fake-quant ops
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        samples = np.asarray(x_calibration[:num_samples], np.float32)
        converter.representative_dataset = lambda: ([sample[None]] for sample in samples)
    return converter


def ptq_tflite(model, x_calibration, num_samples=300):
    """Full-integer post-training quantization of a Keras model.

    Parameters
    ----------
    model : keras.Model
        Float model, input ``(batch, H, W, C)`` float32.
    x_calibration : ndarray (N, H, W, C) float32
        Representative inputs (training images); the first ``num_samples`` are used.

    Returns
    -------
    bytes
        A ``.tflite`` flatbuffer with int8 weights (per channel), int8
        activations, int8 input and int8 output.
    """
    import tensorflow as tf

    return _convert(_int8_converter(tf.lite.TFLiteConverter.from_keras_model(model), x_calibration, num_samples))


def to_tf_keras(model):
    """Rebuild a Keras 3 functional model in ``tf_keras`` (Keras 2) with the same layers and weights.

    Each layer is re-created from its config (keeping only plain values: the
    Keras 3 serialisation of initializers and dtypes differs) and called on the
    rebuilt tensors of its inputs, then its weights are copied.
    """
    import keras
    import tf_keras

    tensors = {}  # id(Keras 3 tensor) -> tf_keras tensor
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            tensors[id(layer.output)] = tf_keras.Input(shape=layer.output.shape[1:], name=layer.name)
            continue
        config = {k: v for k, v in layer.get_config().items() if v is not None and not isinstance(v, dict)}
        twin = getattr(tf_keras.layers, type(layer).__name__).from_config(config)
        inputs = layer.input
        tensors[id(layer.output)] = twin(
            [tensors[id(t)] for t in inputs] if isinstance(inputs, list) else tensors[id(inputs)]
        )
        twin.set_weights(layer.get_weights())
    return tf_keras.Model(
        [tensors[id(t)] for t in model.inputs], [tensors[id(t)] for t in model.outputs], name=model.name
    )


def prepare_qat_keras(model):
    """A tfmot QAT model (``tf_keras``) of a Keras 3 model: fake quantization on weights and activations."""
    import tensorflow_model_optimization as tfmot

    return tfmot.quantization.keras.quantize_model(to_tf_keras(model))


def fit_qat_keras(qat_model, x, y, epochs=3, batch_size=32, learning_rate=1e-4, seed=0):
    """Fine-tune a tfmot QAT model on ``x`` (N, H, W, C) float32, ``y`` (N,) int labels, Adam with cosine decay."""
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    steps = max(1, epochs * -(-len(x) // batch_size))
    qat_model.compile(
        optimizer=tf_keras.optimizers.Adam(tf_keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = qat_model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def qat_tflite(qat_model):
    """Convert a trained tfmot QAT model to a full-integer ``.tflite`` (bytes); its learnt ranges are kept."""
    import tensorflow as tf

    return _convert(_int8_converter(tf.lite.TFLiteConverter.from_keras_model(qat_model)))


RUNTIMES = ("litert", "tflm")


class TFLiteRunner:
    """One ``.tflite`` loaded on LiteRT or on TFLite Micro, run one sample at a time.

    Parameters
    ----------
    model : bytes, str or Path
        The flatbuffer or a path to it.
    runtime : {"litert", "tflm"}
    reference_kernels : bool
        LiteRT only: use the reference kernels (the same integer arithmetic as
        TFLite Micro, so outputs are bit-identical) instead of the optimized
        XNNPACK ones (faster; may differ by one or two steps of the output scale).
    num_threads : int
        LiteRT only.
    """

    def __init__(self, model, runtime="litert", reference_kernels=False, num_threads=1):
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime={runtime!r} is not a TFLite runtime; use one of {RUNTIMES}.")
        self.runtime = runtime
        content = model if isinstance(model, (bytes, bytearray)) else pathlib.Path(model).read_bytes()
        if runtime == "tflm":
            from tflite_micro.python.tflite_micro import runtime as tflm

            self._tflm = tflm.Interpreter.from_bytes(bytes(content))
            self.input_details, self.output_details = self._tflm.get_input_details(0), self._tflm.get_output_details(0)
        else:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType

            resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
            self._litert = Interpreter(
                model_content=bytes(content), num_threads=num_threads, experimental_op_resolver_type=resolver
            )
            self._litert.allocate_tensors()
            self.input_details, self.output_details = (
                self._litert.get_input_details()[0],
                self._litert.get_output_details()[0],
            )

    def invoke(self, sample):
        """Run one raw input (1, ...) of the input tensor's dtype; returns the raw output (1, ...)."""
        if self.runtime == "tflm":
            self._tflm.set_input(sample, 0)
            self._tflm.invoke()
            return self._tflm.get_output(0)
        self._litert.set_tensor(self.input_details["index"], sample)
        self._litert.invoke()
        return self._litert.get_tensor(self.output_details["index"])

    def quantize_input(self, x):
        """Float inputs → the input tensor's dtype: ``q = round(x / s) + z`` for int8 inputs."""
        dtype = self.input_details["dtype"]
        if dtype == np.float32:
            return np.asarray(x, np.float32)
        scale, zero_point = (
            self.input_details["quantization_parameters"]["scales"][0],
            self.input_details["quantization_parameters"]["zero_points"][0],
        )
        info = np.iinfo(dtype)
        return np.clip(np.round(np.asarray(x) / scale) + zero_point, info.min, info.max).astype(dtype)

    def dequantize_output(self, q):
        """Raw outputs → float32: ``x̂ = s · (q − z)`` for int8 outputs."""
        if self.output_details["dtype"] == np.float32:
            return q
        scale, zero_point = (
            self.output_details["quantization_parameters"]["scales"][0],
            self.output_details["quantization_parameters"]["zero_points"][0],
        )
        return (scale * (q.astype(np.float32) - zero_point)).astype(np.float32)

    def predict(self, x, raw=False):
        """Outputs for a batch ``x`` (N, H, W, C) float32: float32 (N, outputs), or the raw int8 ones."""
        q = self.quantize_input(x)
        outputs = np.concatenate([self.invoke(q[i : i + 1]) for i in range(len(q))])
        return outputs if raw else self.dequantize_output(outputs)


def run_tflite(model, x, runtime="litert", reference_kernels=False, raw=False):
    """Run a ``.tflite`` (bytes or path) on ``x`` (N, H, W, C) float32 with LiteRT or TFLite Micro.

    Float inputs are quantized with the input tensor's scale and zero point,
    and int8 outputs dequantized with the output's; ``raw=True`` returns the
    int8 outputs themselves. Returns an array (N, outputs).
    """
    return TFLiteRunner(model, runtime, reference_kernels).predict(x, raw=raw)
