"""The compiled C on its targets: a bare-metal ELF in the emulated Cortex-M4 (Unicorn) and a module in wasmtime.

First on a hand-written two-layer int8 model that obeys the compiler's contract
(``tests/fixtures/compiler_fc``, checked against NumPy), then, once the emitter
exists, on course models compiled by ``compile_model`` and checked bit for bit
against the TFLite Micro interpreter. Each model is built once per module.
"""

import pathlib
import re

import numpy as np
import pytest

from scaledown.deploy.compiler.cortex_m4 import CortexM4, EmulationError, build_cortex_m4
from scaledown.deploy.compiler.elf_size import elf_size
from scaledown.deploy.compiler.toolchain import ToolchainError
from scaledown.deploy.compiler.wasm import WasmModel, build_wasm
from scaledown.foundations.config import pick

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "compiler_fc"
N_INPUTS = pick(full=1000, quick=100)


# --------------------------------------------------------------------------- the hand-written fixture in NumPy


def _c_array(source: str, name: str) -> np.ndarray:
    """The integers of ``name[...] = {...};`` in a C source."""
    body = re.search(rf"\b{name}\[[^\]]*\]\s*=\s*\{{([^}}]*)\}}", source).group(1)
    return np.array([int(value) for value in body.split(",")], np.int64)


def _c_define(source: str, name: str) -> int:
    return int(re.search(rf"#define {name} \(?(-?\d+)\)?", source).group(1))


def _requantize(acc, multiplier, shift):
    """TFLite's MultiplyByQuantizedMultiplier, in int64 NumPy (round half away from zero at both steps)."""
    acc = acc * (1 << np.maximum(shift, 0))
    product = acc * multiplier
    nudged = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))
    right = np.maximum(-shift, 0)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)


def fixture_reference(x_int8: np.ndarray) -> np.ndarray:
    """The fixture's two FULLY_CONNECTED layers in NumPy, from the numbers in its model.c."""
    source = (FIXTURE / "model.c").read_text()
    x = x_int8.astype(np.int64)
    for layer, (depth, zero_in, zero_out) in enumerate(
        [(16, "INPUT_ZERO_POINT", "HIDDEN_ZERO_POINT"), (8, "HIDDEN_ZERO_POINT", "OUTPUT_ZERO_POINT")]
    ):
        weights = _c_array(source, f"fc{layer}_weights").reshape(-1, depth)
        acc = (x - _c_define(source, zero_in)) @ weights.T + _c_array(source, f"fc{layer}_bias")
        acc = _requantize(acc, _c_array(source, f"fc{layer}_multiplier"), _c_array(source, f"fc{layer}_shift"))
        x = np.clip(acc + _c_define(source, zero_out), -128, 127)
    return x.astype(np.int8)


@pytest.fixture(scope="module")
def fixture_inputs():
    return np.random.default_rng(16).integers(-128, 128, (N_INPUTS, 16)).astype(np.int8)


@pytest.fixture(scope="module")
def fixture_elf(tmp_path_factory):
    return build_cortex_m4(FIXTURE, tmp_path_factory.mktemp("fc-m4"))


@pytest.fixture(scope="module")
def fixture_wasm(tmp_path_factory):
    return build_wasm(FIXTURE, tmp_path_factory.mktemp("fc-wasm"))


def test_fixture_on_cortex_m4_equals_numpy(fixture_elf, fixture_inputs):
    outputs = CortexM4(fixture_elf).run(fixture_inputs)
    np.testing.assert_array_equal(outputs, fixture_reference(fixture_inputs))


def test_fixture_in_wasmtime_equals_numpy(fixture_wasm, fixture_inputs):
    outputs = WasmModel(fixture_wasm).run(fixture_inputs)
    np.testing.assert_array_equal(outputs, fixture_reference(fixture_inputs))


def test_startup_copies_data_and_zeroes_bss(fixture_elf):
    """The biases live in .data: the emulator writes only their flash copy, the startup must bring them to RAM;
    RAM starts as garbage (0xA5), the startup must zero .bss (the arena)."""
    chip = CortexM4(fixture_elf)
    assert chip.peek("sd_arena", 16) == bytes(16)
    source = (FIXTURE / "model.c").read_text()
    assert np.frombuffer(chip.peek("fc0_bias", 32), "<i4").tolist() == _c_array(source, "fc0_bias").tolist()


def test_profile_counts_instructions_per_op_and_peak_stack(fixture_elf, fixture_inputs):
    chip = CortexM4(fixture_elf)
    profile = chip.profile(fixture_inputs[0])
    np.testing.assert_array_equal(profile.outputs, fixture_reference(fixture_inputs[:1])[0])
    assert len(profile.per_op) == 2 and min(profile.per_op) > 0
    assert sum(profile.per_op) + profile.outside_ops == profile.instructions
    # the first layer does 16 x 8 MACs, the second 8 x 4: at least one instruction per MAC each
    assert profile.per_op[0] > 128 and profile.per_op[1] > 32 and profile.per_op[0] > profile.per_op[1]
    assert 0 < profile.peak_stack_bytes < 1024
    # the hooks are gone afterwards and the results unchanged
    np.testing.assert_array_equal(chip.run(fixture_inputs[:5]), fixture_reference(fixture_inputs[:5]))


def test_block_counts_equal_a_hook_on_every_instruction(fixture_elf, fixture_inputs):
    """Unicorn's per-instruction hook (slow) skips the IT-block instructions whose condition fails (a Cortex-M4
    still spends a cycle on each); with those added it gives the block count."""
    from collections import Counter

    from unicorn import UC_HOOK_CODE

    from scaledown.deploy.compiler.cortex_m4 import _is_32bit_thumb

    chip = CortexM4(fixture_elf)
    profile = chip.profile(fixture_inputs[0])
    executed, uc = Counter(), chip._uc
    hook = uc.hook_add(UC_HOOK_CODE, lambda uc, address, size, _: executed.update([address]))
    uc.ctl_flush_tb()
    chip.run(fixture_inputs[:1])
    uc.hook_del(hook)

    def halfword(address):
        return int.from_bytes(uc.mem_read(address, 2), "little")

    skipped = 0
    for address, times in list(executed.items()):
        first = halfword(address)
        if (first & 0xFF00) != 0xBF00 or not first & 0xF:  # not an IT instruction
            continue
        mask, following = first & 0xF, address + 2
        for _ in range(4 - (mask & -mask).bit_length() + 1):  # IT covers 1 to 4 instructions
            skipped += times - executed.get(following, 0)
            following += 4 if _is_32bit_thumb(halfword(following)) else 2
    assert skipped > 0 and profile.instructions == sum(executed.values()) + skipped


def test_wasm_fuel_counts_per_op(fixture_wasm, fixture_inputs):
    model = WasmModel(fixture_wasm)
    model.run(fixture_inputs[:1])
    assert len(model.fuel_per_op) == 2 and min(model.fuel_per_op) > 0
    assert sum(model.fuel_per_op) <= model.instructions


def test_elf_size_reads_flash_and_ram(fixture_elf):
    size = elf_size(fixture_elf, peak_stack_bytes=100)
    weight_bytes = 8 * 16 + 4 * 8 + 4 * (8 + 4) + 4 * (8 + 4) + 8 + 4  # weights, biases, multipliers, shifts
    assert size.flash_bytes == sum(size.sections[s] for s in (".vectors", ".text", ".rodata", ".data"))
    assert size.flash_bytes >= weight_bytes
    assert size.sections[".data"] == 4 * (8 + 4)  # the two bias arrays
    assert size.arena_bytes == 16
    assert size.static_ram_bytes >= 16 + 16 + 4 + 48  # arena, input, output, .data
    assert size.ram_bytes == size.static_ram_bytes + 100
    assert size.largest_symbols[0][1] >= size.largest_symbols[-1][1]


def test_fpu_detected_only_in_code_with_vfp_instructions(fixture_elf, tmp_path):
    """int8 kernels need no FPU (the startup leaves it off); float code built with the FPU on holds VFP instructions."""
    from scaledown.deploy.compiler.cortex_m4 import uses_fpu
    from scaledown.deploy.compiler.toolchain import zig_cc

    source = tmp_path / "scale.c"
    source.write_text("float scale(float x) { return x * 1.5f; }\nvoid Reset_Handler(void) {}\n")
    zig_cc(
        [
            source,
            "-mcpu=cortex_m4+vfp4d16sp",
            "-Wl,--entry=Reset_Handler",
            "-Wl,-u,scale",
            "-o",
            tmp_path / "scale.elf",
        ],
        target="cortex-m4",
    )
    assert uses_fpu(tmp_path / "scale.elf") and not uses_fpu(fixture_elf)


def test_c_compile_error_is_one_sentence(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.h").write_text((FIXTURE / "model.h").read_text())
    (broken / "model.c").write_text(
        '#include "model.h"\nint sd_invoke(const int8_t *in, int8_t *out) { return undeclared_name; }\n'
    )
    with pytest.raises(ToolchainError) as error:
        build_cortex_m4(broken, tmp_path / "out")
    message = str(error.value)
    assert "\n" not in message and "model.c" in message and "undeclared_name" in message
    assert not (tmp_path / "out" / "model.elf").exists()
    with pytest.raises(ToolchainError, match="wasm32"):
        build_wasm(broken, tmp_path / "out")


def test_runtime_helper_gets_a_hint(tmp_path):
    """64-bit division needs compiler-rt, which a -nostdlib build does not link: the sentence says so."""
    folder = tmp_path / "division"
    folder.mkdir()
    (folder / "model.h").write_text((FIXTURE / "model.h").read_text())
    (folder / "model.c").write_text(
        '#include "model.h"\nvolatile int64_t d = 3;\nconst char *const sd_op_names[2];\n'
        "int sd_invoke(const int8_t *in, int8_t *out) "
        "{ out[0] = (int8_t)((int64_t)in[0] * 1000000007LL / d); return 0; }\n"
    )
    with pytest.raises(ToolchainError, match="compiler runtime helper"):
        build_cortex_m4(folder, tmp_path / "out")


def _fixture_variant(tmp_path, name, replace):
    """A copy of the fixture with one piece of model.c replaced: ``replace`` is (old, new)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "model.h").write_text((FIXTURE / "model.h").read_text())
    source = (FIXTURE / "model.c").read_text()
    assert replace[0] in source
    (folder / "model.c").write_text(source.replace(*replace))
    return folder


def test_model_too_big_for_ram_is_one_sentence(tmp_path):
    folder = _fixture_variant(tmp_path, "big", ("sd_arena[SD_ARENA_SIZE]", "sd_arena[300000]"))
    with pytest.raises(ToolchainError, match=r"'\.bss' will not fit in region 'RAM'.*256 KB of RAM\)\.$"):
        build_cortex_m4(folder, tmp_path / "out")


def test_stack_running_into_bss_is_caught(tmp_path):
    """Nearly all RAM in .bss and 16 KB of locals: the stack overwrites static data, and the profile says so."""
    folder = _fixture_variant(tmp_path, "deep", ("sd_arena[SD_ARENA_SIZE]", "sd_arena[256 * 1024 - 2048]"))
    source = (
        (folder / "model.c")
        .read_text()
        .replace(
            "    SD_OP_BEGIN(0);\n",
            "    volatile int8_t scratch[16384];\n    for (int i = 0; i < 16384; i++) scratch[i] = (int8_t)i;\n"
            "    SD_OP_BEGIN(0);\n",
        )
    )
    (folder / "model.c").write_text(source)
    chip = CortexM4(build_cortex_m4(folder, tmp_path / "out"))
    with pytest.raises(EmulationError, match="stack reached the end of .bss"):
        chip.profile(np.zeros(16, np.int8))


def test_endless_loop_times_out(tmp_path):
    folder = tmp_path / "loop"
    folder.mkdir()
    (folder / "model.h").write_text((FIXTURE / "model.h").read_text())
    (folder / "model.c").write_text(
        '#include "model.h"\nconst char *const sd_op_names[2];\n'
        "int sd_invoke(const int8_t *in, int8_t *out) { for (;;) out[0] = in[0]; }\n"
    )
    chip = CortexM4(build_cortex_m4(folder, tmp_path / "out"), timeout_s=0.5)
    with pytest.raises(EmulationError, match="did not return"):
        chip.run(np.zeros((1, 16), np.int8))


# --------------------------------------------------------------------------- course models


def _gesture_model():
    """The IMU Conv1D classifier of tests/test_deploy_micro.py (100 steps x 6 channels)."""
    from test_deploy_micro import gesture_model

    return gesture_model()


def _digits_model():
    """The course's digits MobileNet v1 (32 x 32 x 1, width 1.0), untrained: bit-exactness needs no training."""
    import keras

    from scaledown.foundations.models import baseline

    keras.utils.set_random_seed(0)
    return baseline()


COURSE_MODELS = {
    "imu_conv1d": (_gesture_model, (100, 6), 3.0),
    "digits_mobilenet_v1": (_digits_model, (32, 32, 1), 1.0),
}


@pytest.fixture(scope="module", params=sorted(COURSE_MODELS))
def course_build(request, tmp_path_factory):
    """One course model: its int8 .tflite, the compiled C built for both targets, int8 inputs, TFLM's outputs."""
    from scaledown.compress.quantization.tensorflow import ptq_tflite
    from scaledown.deploy.compiler import compile_model
    from scaledown.deploy.micro import run_tflm
    from scaledown.foundations.hardware.graph import bytes_by_dtype, count_macs
    from scaledown.foundations.hardware.tflite_reader import read_tflite

    build_model, shape, spread = COURSE_MODELS[request.param]
    rng = np.random.default_rng(0)
    calibration = rng.normal(0, spread, (64, *shape)).astype(np.float32)
    content = ptq_tflite(build_model(), calibration, num_samples=64)
    folder = tmp_path_factory.mktemp(request.param)
    compile_model(content, folder / "c")
    x_int8 = rng.integers(-128, 128, (N_INPUTS, *shape)).astype(np.int8)
    graph = read_tflite(content)
    return {
        "name": request.param,
        "folder": folder,
        "elf": build_cortex_m4(folder / "c", folder / "m4"),
        "wasm": build_wasm(folder / "c", folder / "wasm"),
        "x": x_int8,
        "reference": run_tflm(content, x_int8).reshape(len(x_int8), -1),
        "macs": count_macs(graph),
        "weight_bytes": sum(bytes_by_dtype(graph).values()),
    }


def test_course_model_on_cortex_m4_is_bit_exact(course_build):
    outputs = CortexM4(course_build["elf"]).run(course_build["x"])
    assert (outputs != course_build["reference"]).any(axis=1).sum() == 0


def test_course_model_in_wasmtime_is_bit_exact(course_build):
    model = WasmModel(course_build["wasm"])
    outputs = model.run(course_build["x"])
    assert (outputs != course_build["reference"]).any(axis=1).sum() == 0
    assert len(model.fuel_per_op) == model.number_of_ops and model.instructions > course_build["macs"]


def test_course_model_with_dsp_instructions_is_bit_exact_and_faster(course_build):
    """The build with SD_USE_DSP (SXTB16 + SMLAD in the inner loops) gives the same bytes in fewer instructions."""
    elf = build_cortex_m4(course_build["folder"] / "c", course_build["folder"] / "m4_dsp", dsp=True)
    chip = CortexM4(elf)
    assert (chip.run(course_build["x"]) != course_build["reference"]).any(axis=1).sum() == 0
    plain = CortexM4(course_build["elf"]).profile(course_build["x"][0]).instructions
    assert chip.profile(course_build["x"][0]).instructions < plain


def test_course_model_profile_and_size(course_build):
    chip = CortexM4(course_build["elf"])
    profile = chip.profile(course_build["x"][0])
    np.testing.assert_array_equal(profile.outputs, course_build["reference"][0])
    assert profile.instructions > course_build["macs"] > 0
    assert sum(profile.per_op) + profile.outside_ops == profile.instructions and min(profile.per_op) > 0
    size = elf_size(course_build["elf"], profile.peak_stack_bytes)
    assert size.flash_bytes >= course_build["weight_bytes"]
    assert 0 < size.arena_bytes <= size.static_ram_bytes < size.ram_bytes <= 256 * 1024
