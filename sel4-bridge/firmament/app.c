/* The app domain: a program in U-mode that PMP confines to its own code, its own stack and the one
   memory region the invoking capability designates. Anything else it touches faults, and the fault
   ends only the app; the kernel answers the invocation with how the app died. The programs live in
   .app_text and call nothing, because no kernel code is executable from U-mode. */
#include "fw.h"

extern uint8_t __app_text[], __app_stack[];
struct app_exit enter_user(uintptr_t entry, uintptr_t sp, uint64_t a0, uint64_t a1);

#define APP __attribute__((section(".app_text"), noinline, used))
#define EXIT() __asm__ volatile("ecall")

/* word 0 of the region := the sum of words 1..31. */
APP static void app_sum(uint64_t *region, uint64_t unused) {
  (void)unused;
  uint64_t s = 0;
  for (int i = 1; i < REGION_BYTES / 8; i++) s += region[i];
  region[0] = s;
  EXIT();
}

/* A stray device access: a store to the UART, which the app holds no capability for. */
APP static void app_stray(uint64_t *region, uint64_t unused) {
  (void)region, (void)unused;
  *(volatile uint8_t *)0x10000000 = 'X';
  EXIT();
}

/* A read of kernel memory (the capability table). */
APP static void app_peek(uint64_t *region, uint64_t kernel) {
  region[0] = *(volatile uint64_t *)kernel;
  EXIT();
}

static void (*const PROGRAMS[])(uint64_t *, uint64_t) = {app_sum, app_stray, app_peek};

static uint64_t napot(uintptr_t base, uintptr_t size) { return (base + size / 2 - 1) >> 2; }

#define PMP_R 1
#define PMP_W 2
#define PMP_X 4
#define PMP_NAPOT 0x18

int app_run(unsigned block, unsigned program, struct app_exit *exit) {
  if (program >= sizeof PROGRAMS / sizeof PROGRAMS[0]) return fail(FW_E_ARGUMENT, "no such app program");
  uintptr_t region = (uintptr_t)(__regions + block * REGION_BYTES);
  uint64_t cfg = (uint64_t)(PMP_NAPOT | PMP_R | PMP_X) | (uint64_t)(PMP_NAPOT | PMP_R | PMP_W) << 8 |
                 (uint64_t)(PMP_NAPOT | PMP_R | PMP_W) << 16;
  __asm__ volatile("csrw pmpaddr0, %0" ::"r"(napot((uintptr_t)__app_text, 4096)));
  __asm__ volatile("csrw pmpaddr1, %0" ::"r"(napot((uintptr_t)__app_stack, 4096)));
  __asm__ volatile("csrw pmpaddr2, %0" ::"r"(napot(region, REGION_BYTES)));
  __asm__ volatile("csrw pmpcfg0, %0" ::"r"(cfg));
  __asm__ volatile("csrw mie, zero"); /* in U-mode M-level interrupts are always enabled */
  *exit = enter_user((uintptr_t)PROGRAMS[program], (uintptr_t)__app_stack + 4096, region, (uint64_t)(uintptr_t)&K);
  __asm__ volatile("csrw pmpcfg0, zero");
  __asm__ volatile("csrs mie, %0" ::"r"(1ul << 11));
  return FW_OK;
}
