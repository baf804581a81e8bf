"""Chapter 6: one call, two kinds of package — a Linux board and a microcontroller."""

from _shapes import ARTEFACT, CLOUD, DEVICE, INK, PI, arrow, box, canvas, save, side


def draw():
    fig, ax = canvas(12.4, 13.0)
    model = box(
        ax,
        0.3,
        11.4,
        4.6,
        1.3,
        "trained model: Keras or PyTorch\n(or a .tflite, .onnx, .keras file)",
        fill=CLOUD,
        fontsize=10.5,
    )
    call = box(
        ax,
        6.0,
        11.2,
        6.1,
        1.7,
        "create_deployment_package(model,\ntarget=…, representative_data=…)\nfull int8 conversion",
        fill="white",
        fontsize=10.5,
    )
    arrow(ax, side(model, "right"), side(call, "left"))

    left, right = 3.0, 9.25  # column centres
    pi_model = box(
        ax,
        left - 2.5,
        8.2,
        5.0,
        1.8,
        'Linux boards: target="pi", "pi5"\n\nmodel.tflite (Keras) or\nQDQ model.onnx (PyTorch)',
        fill=ARTEFACT,
        fontsize=10.5,
    )
    mcu_model = box(
        ax,
        right - 2.8,
        8.2,
        5.6,
        1.8,
        'Microcontrollers: target="nano33ble",\n"esp32s3", "stm32h7"\n\nmodel.tflite, int8',
        fill=ARTEFACT,
        fontsize=10.5,
    )
    arrow(ax, (7.0, 11.2), side(pi_model, "top"), connection="arc3,rad=-0.2")
    arrow(ax, (9.25, 11.2), side(mcu_model, "top"))

    pi_pkg = box(
        ax,
        left - 2.8,
        4.3,
        5.6,
        2.7,
        "a folder and its .tar.gz:\npredict.py (NumPy + the runtime;\nno TensorFlow, no PyTorch)\n"
        "requirements.txt, manifest.json,\nNAME.service, install.sh, samples/",
        fill=ARTEFACT,
        fontsize=10.5,
    )
    mcu_pkg = box(
        ax,
        right - 2.95,
        4.3,
        5.9,
        2.7,
        "C and C++ sources:\nmodel_data.cc: the model as an\nalignas(16) C array\n"
        "op_resolver.h: exactly its ops\nmodel_settings.h: arena size\n(measured + 25%), shapes, scales",
        fill=ARTEFACT,
        fontsize=10.5,
    )
    arrow(ax, side(pi_model, "bottom"), side(pi_pkg, "top"))
    arrow(ax, side(mcu_model, "bottom"), side(mcu_pkg, "top"))
    ax.text(right + 0.15, 7.6, "to a C array", ha="left", va="center", fontsize=10, color=INK)

    pi = box(
        ax,
        left - 2.4,
        1.5,
        4.8,
        1.6,
        "Raspberry Pi: LiteRT or\nONNX Runtime, as a\nsystemd service",
        fill=PI,
        fontsize=10.5,
    )
    mcu = box(
        ax,
        right - 2.5,
        1.5,
        5.0,
        1.6,
        "Nano 33 BLE Sense: TFLite\nMicro firmware (Arduino\nIDE or PlatformIO)",
        fill=DEVICE,
        fontsize=10.5,
    )
    arrow(ax, side(pi_pkg, "bottom"), side(pi, "top"))
    arrow(ax, side(mcu_pkg, "bottom"), side(mcu, "top"))
    ax.text(left + 0.15, 3.7, "copy, install.sh", ha="left", va="center", fontsize=10, color=INK)
    ax.text(right + 0.15, 3.7, "compile, flash", ha="left", va="center", fontsize=10, color=INK)
    ax.text(
        left,
        0.7,
        "self-test: the samples' outputs\nmatch those recorded at build",
        ha="center",
        va="center",
        fontsize=10,
        style="italic",
        color=INK,
    )
    ax.text(
        right,
        0.7,
        "checked: the C array, read back,\nruns in TFLM as in LiteRT",
        ha="center",
        va="center",
        fontsize=10,
        style="italic",
        color=INK,
    )
    return fig


if __name__ == "__main__":
    save(draw(), "ch06_deployment_paths.png")
