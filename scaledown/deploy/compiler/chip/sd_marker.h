/* Included before model.c: each op begins with a volatile store of its index to a fixed address,
 * which the emulator watches to count instructions per op (a real board's build leaves it out). */
#ifndef SD_MARKER_H
#define SD_MARKER_H
#include <stdint.h>
#define SD_MARKER_ADDRESS 0x4001F000u
#define SD_OP_BEGIN(i) (*(volatile uint32_t *)SD_MARKER_ADDRESS = (uint32_t)(i))
#endif
