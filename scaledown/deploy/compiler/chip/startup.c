/* A minimal bare-metal program for a Cortex-M4: vector table, reset handler, the model's buffers.
 *
 * Reset_Handler copies .data from flash to RAM, zeroes .bss, then runs the model once.
 * The emulator calls the two halves itself: sd_startup() once, sd_run() per inference,
 * after writing sd_input and before reading sd_output. */
#include <stdint.h>
#include "model.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;

int8_t sd_input[SD_INPUT_SIZE] __attribute__((aligned(16)));
int8_t sd_output[SD_OUTPUT_SIZE] __attribute__((aligned(16)));

void sd_startup(void)
{
    const uint32_t *from = &__data_load;
    for (uint32_t *to = &__data_start; to < &__data_end;)
        *to++ = *from++;
    for (uint32_t *to = &__bss_start; to < &__bss_end;)
        *to++ = 0;
#ifdef SD_ENABLE_FPU
    /* CPACR: full access to coprocessors 10 and 11 (the FPU), needed before any VFP instruction. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb");
#endif
}

int sd_run(void)
{
    return sd_invoke(sd_input, sd_output);
}

void Reset_Handler(void)
{
    sd_startup();
    sd_run();
    for (;;)
        __asm__ volatile("wfi");
}

static void Default_Handler(void)
{
    for (;;)
        __asm__ volatile("bkpt #0");
}

/* Initial stack pointer, then the handlers: reset, NMI, hard fault, memory, bus, usage fault. */
__attribute__((section(".vectors"), used))
const void *const sd_vectors[16] = {
    &__stack_top, (const void *)Reset_Handler, (const void *)Default_Handler, (const void *)Default_Handler,
    (const void *)Default_Handler, (const void *)Default_Handler, (const void *)Default_Handler, 0, 0, 0, 0,
    (const void *)Default_Handler, (const void *)Default_Handler, 0, (const void *)Default_Handler,
    (const void *)Default_Handler,
};
