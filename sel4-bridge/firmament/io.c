/* The serial line (the ns16550 UART of `virt`), the clock (CLINT mtime, 10 MHz) and power-off (the
   sifive_test device). The kernel sleeps in `wfi` until the UART raises its receive interrupt, so an
   idle firmament costs no host CPU. */
#include "fw.h"

#define UART ((volatile uint8_t *)0x10000000)
#define UART_RBR 0
#define UART_IER 1
#define UART_LSR 5
#define PLIC_PRIORITY(irq) ((volatile uint32_t *)(0x0c000000 + 4 * (irq)))
#define PLIC_ENABLE ((volatile uint32_t *)0x0c002000) /* hart 0, M-mode context */
#define PLIC_THRESHOLD ((volatile uint32_t *)0x0c200000)
#define PLIC_CLAIM ((volatile uint32_t *)0x0c200004)
#define UART_IRQ 10
#define MTIME ((volatile uint64_t *)0x0200bff8)
#define MTIME_HZ 10000000ull
#define SIFIVE_TEST ((volatile uint32_t *)0x100000)

static uint64_t clock_base; /* Unix seconds at mtime 0, set by the launcher's `clock` */

void io_init(void) {
  *PLIC_PRIORITY(UART_IRQ) = 1;
  *PLIC_ENABLE = 1u << UART_IRQ;
  *PLIC_THRESHOLD = 0;
  UART[UART_IER] = 1; /* interrupt when a byte arrives */
  __asm__ volatile("csrs mie, %0" ::"r"(1ul << 11)); /* MEIE: wakes wfi; mstatus.MIE stays off */
}

static void putc_(char c) {
  while (!(UART[UART_LSR] & 0x20)) {}
  UART[UART_RBR] = (uint8_t)c;
}

void putn(const char *s, size_t n) {
  while (n--) putc_(*s++);
}

void put(const char *s) {
  while (*s) putc_(*s++);
}

void putu(uint64_t v) {
  char b[20];
  int n = 0;
  do b[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n) putc_(b[--n]);
}

static const char HEX[] = "0123456789abcdef";

void puthex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) putc_(HEX[b[i] >> 4]), putc_(HEX[b[i] & 15]);
}

void putx(uint64_t v) {
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 15) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) putc_(HEX[(v >> shift) & 15]);
}

int getch(void) {
  while (!(UART[UART_LSR] & 1)) {
    __asm__ volatile("wfi");
    uint32_t irq = *PLIC_CLAIM;
    if (irq) *PLIC_CLAIM = irq;
  }
  return UART[UART_RBR];
}

_Noreturn void poweroff(uint32_t code) {
  /* 0x5555: pass; (code << 16) | 0x3333: fail with that exit code. */
  *SIFIVE_TEST = code == 0 ? 0x5555 : (code << 16) | 0x3333;
  for (;;) __asm__ volatile("wfi");
}

uint64_t now_seconds(void) { return clock_base + *MTIME / MTIME_HZ; }

void set_clock(uint64_t unix_seconds) { clock_base = unix_seconds - *MTIME / MTIME_HZ; }
