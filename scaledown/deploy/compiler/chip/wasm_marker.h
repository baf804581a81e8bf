/* Included before model.c in the WebAssembly build: each op begins with a call to the host's
 * env.sd_op_begin(i), which reads the fuel left to count WebAssembly instructions per op. */
#ifndef SD_WASM_MARKER_H
#define SD_WASM_MARKER_H
__attribute__((import_module("env"), import_name("sd_op_begin"))) void sd_op_begin(int op);
#define SD_OP_BEGIN(i) sd_op_begin(i)
#endif
