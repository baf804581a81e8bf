"""The boards of the course: how much memory they have, what they run, how fast.

Every number here is a datasheet value, except the MAC throughputs and the
reserved memory, which are rough assumptions stated in each target's ``notes``:
good enough to tell "fits in 0.1 s" from "needs 10 s", not a benchmark.
Sizes use 1 KB = 1024 bytes, as microcontroller datasheets do.
"""

from dataclasses import dataclass

KB = 1024
MB = 1024 * KB
GB = 1024 * MB

# TFLite builtin ops that TensorFlow Lite Micro registers (checked against the
# Register_<OP> symbols of the installed tflite-micro runtime by the tests).
TFLITE_MICRO_OPS = frozenset(
    {
        "ABS",
        "ADD",
        "ADD_N",
        "ARG_MAX",
        "ARG_MIN",
        "AVERAGE_POOL_2D",
        "BATCH_MATMUL",
        "BATCH_TO_SPACE_ND",
        "BROADCAST_ARGS",
        "BROADCAST_TO",
        "CAST",
        "CEIL",
        "CONCATENATION",
        "CONV_2D",
        "COS",
        "CUMSUM",
        "DEPTH_TO_SPACE",
        "DEPTHWISE_CONV_2D",
        "DEQUANTIZE",
        "DIV",
        "ELU",
        "EQUAL",
        "EXP",
        "EXPAND_DIMS",
        "FILL",
        "FLOOR",
        "FLOOR_DIV",
        "FLOOR_MOD",
        "FULLY_CONNECTED",
        "GATHER",
        "GATHER_ND",
        "GREATER",
        "GREATER_EQUAL",
        "HARD_SWISH",
        "L2_NORMALIZATION",
        "L2_POOL_2D",
        "LEAKY_RELU",
        "LESS",
        "LESS_EQUAL",
        "LOG",
        "LOG_SOFTMAX",
        "LOGICAL_AND",
        "LOGICAL_NOT",
        "LOGICAL_OR",
        "LOGISTIC",
        "MAX_POOL_2D",
        "MAXIMUM",
        "MEAN",
        "MINIMUM",
        "MIRROR_PAD",
        "MUL",
        "NEG",
        "NOT_EQUAL",
        "PACK",
        "PAD",
        "PADV2",
        "PRELU",
        "QUANTIZE",
        "REDUCE_MAX",
        "REDUCE_MIN",
        "RELU",
        "RELU6",
        "RESHAPE",
        "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR",
        "REVERSE_V2",
        "ROUND",
        "RSQRT",
        "SELECT_V2",
        "SHAPE",
        "SIN",
        "SLICE",
        "SOFTMAX",
        "SPACE_TO_BATCH_ND",
        "SPACE_TO_DEPTH",
        "SPLIT",
        "SPLIT_V",
        "SQRT",
        "SQUARE",
        "SQUARED_DIFFERENCE",
        "SQUEEZE",
        "STRIDED_SLICE",
        "SUB",
        "SUM",
        "SVDF",
        "TANH",
        "TRANSPOSE",
        "TRANSPOSE_CONV",
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "UNPACK",
        "ZEROS_LIKE",
    }
)


@dataclass(frozen=True)
class Target:
    """A board a model may be deployed to.

    Attributes
    ----------
    id : str
        Short name used in code, e.g. ``"nano33ble"``.
    name, processor : str
        Human-readable board and processor.
    clock_hz : int
        CPU clock.
    ram_bytes : int
        On-chip SRAM of a microcontroller, or the RAM of a Linux board.
    flash_bytes : int
        Where the model is stored: on-chip flash, or the SD card of a Pi.
    reserved_ram_bytes, reserved_flash_bytes : int
        Memory already used by everything but the model (runtime, OS or
        Arduino core, radio stack, stack and heap). Assumptions: see ``notes``.
    runtimes : tuple of str
        Inference runtimes that run on the board.
    ops : frozenset of str or None
        TFLite builtin op names the runtime supports; ``None`` means any op.
    int8_macs_per_s, float32_macs_per_s : float
        Rough multiply-accumulate throughput, for latency estimates.
    notes : str
        Where the assumptions come from.
    aliases : tuple of str
        Other names :func:`get_target` accepts.
    """

    id: str
    name: str
    processor: str
    clock_hz: int
    ram_bytes: int
    flash_bytes: int
    reserved_ram_bytes: int
    reserved_flash_bytes: int
    runtimes: tuple
    ops: frozenset | None
    int8_macs_per_s: float
    float32_macs_per_s: float
    notes: str = ""
    aliases: tuple = ()

    @property
    def is_microcontroller(self) -> bool:
        """True for bare-metal boards that run TensorFlow Lite Micro."""
        return "tflite-micro" in self.runtimes

    def macs_per_s(self, dtype: str) -> float:
        """Assumed MAC throughput for weights of ``dtype`` (int8 or anything else = float)."""
        return self.int8_macs_per_s if dtype in ("int8", "uint8") else self.float32_macs_per_s


TARGETS = {
    t.id: t
    for t in [
        Target(
            id="nano33ble",
            name="Arduino Nano 33 BLE Sense",
            processor="nRF52840, Arm Cortex-M4F",
            clock_hz=64_000_000,
            ram_bytes=256 * KB,
            flash_bytes=1 * MB,
            reserved_ram_bytes=64 * KB,
            reserved_flash_bytes=128 * KB,
            runtimes=("tflite-micro",),
            ops=TFLITE_MICRO_OPS,
            int8_macs_per_s=32e6,
            float32_macs_per_s=10e6,
            notes="Assumed: 64 KB of RAM for the Arduino core, BLE stack, stack and heap; "
            "128 KB of flash for the core and the TFLite Micro interpreter; "
            "CMSIS-NN int8 ~0.5 MAC/cycle, float32 ~0.15 MAC/cycle.",
        ),
        Target(
            id="esp32s3",
            name="ESP32-S3",
            processor="2x Xtensa LX7",
            clock_hz=240_000_000,
            ram_bytes=512 * KB,
            flash_bytes=8 * MB,
            reserved_ram_bytes=160 * KB,
            reserved_flash_bytes=1 * MB,
            runtimes=("tflite-micro",),
            ops=TFLITE_MICRO_OPS,
            int8_macs_per_s=150e6,
            float32_macs_per_s=30e6,
            notes="Assumed: 160 KB of SRAM for FreeRTOS, Wi-Fi/BLE and stacks, 1 MB of flash "
            "for the firmware; esp-nn int8 SIMD ~0.6 MAC/cycle on one core.",
        ),
        Target(
            id="stm32h7",
            name="STM32H743",
            processor="Arm Cortex-M7",
            clock_hz=480_000_000,
            ram_bytes=1 * MB,
            flash_bytes=2 * MB,
            reserved_ram_bytes=64 * KB,
            reserved_flash_bytes=256 * KB,
            runtimes=("tflite-micro",),
            ops=TFLITE_MICRO_OPS,
            int8_macs_per_s=240e6,
            float32_macs_per_s=100e6,
            notes="Assumed: 64 KB of RAM and 256 KB of flash for the application; the 1 MB "
            "of SRAM is split in banks (largest 512 KB); CMSIS-NN int8 ~0.5 MAC/cycle.",
        ),
        Target(
            id="pi4",
            name="Raspberry Pi 4 Model B (4 GB)",
            processor="4x Arm Cortex-A72",
            clock_hz=1_500_000_000,
            ram_bytes=4 * GB,
            flash_bytes=32 * GB,
            reserved_ram_bytes=1 * GB,
            reserved_flash_bytes=8 * GB,
            runtimes=("litert", "onnxruntime", "openvino", "pytorch"),
            ops=None,
            int8_macs_per_s=6e9,
            float32_macs_per_s=4e9,
            notes="Assumed: a 32 GB SD card with 8 GB used by the OS, 1 GB of RAM for Linux "
            "and Python; XNNPACK on 4 threads ~6 GMAC/s int8, ~4 GMAC/s float32.",
            aliases=("pi",),
        ),
        Target(
            id="pi5",
            name="Raspberry Pi 5 (8 GB)",
            processor="4x Arm Cortex-A76",
            clock_hz=2_400_000_000,
            ram_bytes=8 * GB,
            flash_bytes=32 * GB,
            reserved_ram_bytes=1 * GB,
            reserved_flash_bytes=8 * GB,
            runtimes=("litert", "onnxruntime", "openvino", "pytorch"),
            ops=None,
            int8_macs_per_s=15e9,
            float32_macs_per_s=10e9,
            notes="Assumed: as the Pi 4; about 2.5x its throughput.",
        ),
    ]
}


def list_targets() -> list[str]:
    """Ids of all targets, sorted, e.g. ``['esp32s3', 'nano33ble', ...]``."""
    return sorted(TARGETS)


def get_target(name: str | Target) -> Target:
    """Look a target up by id or alias, ignoring case; a :class:`Target` passes through.

    Raises
    ------
    ValueError
        If ``name`` is no known id or alias.
    """
    if isinstance(name, Target):
        return name
    key = str(name).strip().lower()
    for target in TARGETS.values():
        if key == target.id or key in target.aliases:
            return target
    choices = sorted(list(TARGETS) + [f"{a} ({t.id})" for t in TARGETS.values() for a in t.aliases])
    raise ValueError(f"Unknown target {name!r}: choose one of {', '.join(choices)}.")


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KB'``: B, KB, MB or GB with one decimal (1 KB = 1024 bytes)."""
    for unit, size in (("GB", GB), ("MB", MB), ("KB", KB)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def targets_table() -> str:
    """The catalogue as a text table, one row per target."""
    header = ("id", "board", "processor", "clock", "RAM", "flash", "runtimes")
    rows = [header] + [
        (
            t.id,
            t.name,
            t.processor,
            f"{t.clock_hz / 1e6:g} MHz",
            format_bytes(t.ram_bytes),
            format_bytes(t.flash_bytes),
            ", ".join(t.runtimes),
        )
        for t in (TARGETS[i] for i in list_targets())
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
