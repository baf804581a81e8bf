"""Chapter 6, inside the runtime: an interpreter does its work on the device; a model compiler does it before."""

from _shapes import ARTEFACT, CLOUD, DEVICE, INK, PI, arrow, box, canvas, save, side


def draw():
    fig, ax = canvas(13.0, 10.6)
    left, right = 3.1, 9.7  # column centres
    ax.text(left, 10.15, "an interpreter (TensorFlow Lite Micro)", ha="center", fontsize=12, weight="bold", color=INK)
    ax.text(
        right, 10.15, "a model compiler (scaledown.deploy.compiler)", ha="center", fontsize=12, weight="bold", color=INK
    )

    # the interpreter: the model travels as data, the work happens on the device
    source = box(ax, left - 2.6, 8.2, 5.2, 1.3, "your computer:\nmodel.tflite as a C array", fill=CLOUD, fontsize=10.5)
    flash = box(
        ax,
        left - 2.9,
        5.6,
        5.8,
        1.7,
        "device flash: the flatbuffer, the interpreter,\nthe op resolver, every registered kernel",
        fill=DEVICE,
        fontsize=10.5,
    )
    boot = box(ax, left - 2.9, 3.4, 5.8, 1.5, "at boot: parse the graph,\nplan the arena (greedy by size)", fill=DEVICE)
    run = box(ax, left - 2.9, 1.2, 5.8, 1.5, "each inference: walk the ops,\nlook up each kernel, call it", fill=DEVICE)
    arrow(ax, side(source, "bottom"), side(flash, "top"), "flash it", offset=(0.75, 0))
    arrow(ax, side(flash, "bottom"), side(boot, "top"))
    arrow(ax, side(boot, "bottom"), side(run, "top"))

    # the compiler: the work happens once, on the computer; the device runs plain C
    steps = box(
        ax,
        right - 3.0,
        7.9,
        6.0,
        1.9,
        "your computer, once: read the .tflite,\nlifetimes → memory plan (in place, lower bound),\nemit C with TFLite's integer arithmetic",
        fill=CLOUD,
        fontsize=10.5,
    )
    c_code = box(
        ax,
        right - 3.0,
        5.3,
        6.0,
        1.9,
        "model.c: const weights, multipliers, shifts;\nsd_invoke(): one kernel call per op\nat fixed offsets of one static arena",
        fill=ARTEFACT,
        fontsize=10.5,
    )
    m4 = box(
        ax,
        right - 3.15,
        1.2,
        2.95,
        2.9,
        "Cortex-M4 ELF\n(zig cc, Unicorn)\n\nflash and RAM\nfrom the ELF;\ninstructions per op",
        fill=DEVICE,
        fontsize=10,
    )
    wasm = box(
        ax,
        right + 0.2,
        1.2,
        2.95,
        2.9,
        "WebAssembly module\n(zig cc, wasmtime)\n\none sandboxed build\nfor any Linux device",
        fill=PI,
        fontsize=10,
    )
    arrow(ax, side(steps, "bottom"), side(c_code, "top"))
    arrow(ax, (right - 1.7, 5.3), side(m4, "top"), "thumb, -O2", offset=(-0.9, 0.1))
    arrow(ax, (right + 1.7, 5.3), side(wasm, "top"), "wasm32", offset=(0.75, 0.1))
    ax.text(
        6.45,
        0.45,
        "both are checked bit for bit against TensorFlow Lite Micro",
        ha="center",
        va="center",
        fontsize=10,
        style="italic",
        color=INK,
    )
    return fig


if __name__ == "__main__":
    save(draw(), "ch06_inside_the_runtime.png")
