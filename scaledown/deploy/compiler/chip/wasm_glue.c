/* The model in a WebAssembly module: the input/output buffers and the calls the host needs.
 * The host writes sd_input through the exported linear memory, calls sd_run, reads sd_output. */
#include <stdint.h>
#include "model.h"

static int8_t sd_input[SD_INPUT_SIZE] __attribute__((aligned(16)));
static int8_t sd_output[SD_OUTPUT_SIZE] __attribute__((aligned(16)));

__attribute__((export_name("sd_input_address"))) int8_t *sd_input_address(void) { return sd_input; }
__attribute__((export_name("sd_output_address"))) int8_t *sd_output_address(void) { return sd_output; }
__attribute__((export_name("sd_input_size"))) int sd_input_size(void) { return SD_INPUT_SIZE; }
__attribute__((export_name("sd_output_size"))) int sd_output_size(void) { return SD_OUTPUT_SIZE; }
__attribute__((export_name("sd_num_ops"))) int sd_num_ops(void) { return SD_NUM_OPS; }
__attribute__((export_name("sd_run"))) int sd_run(void) { return sd_invoke(sd_input, sd_output); }
