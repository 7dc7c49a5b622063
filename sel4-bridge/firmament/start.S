/* Entry, the trap vector and the one way into U-mode. mscratch is 0 while the kernel runs and points
   at the saved kernel context while the app domain runs, so a trap can tell where it came from. */
  .section .text.start
  .globl _start
_start:
  csrw mie, zero
  csrw mscratch, zero
  la sp, __stack_top
  la t0, __bss_start
  la t1, __bss_end
1:bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:la t0, trap_entry
  csrw mtvec, t0
  call kmain
3:wfi
  j 3b

  .text
/* struct app_exit enter_user(entry, user_sp, a0, a1): runs the app domain until it traps (ecall or
   fault) and returns {mcause, mtval}. Only callee-saved registers, sp, gp and tp need to survive. */
  .globl enter_user
enter_user:
  la t0, kctx
  sd ra, 0(t0)
  sd sp, 8(t0)
  sd gp, 16(t0)
  sd tp, 24(t0)
  sd s0, 32(t0)
  sd s1, 40(t0)
  sd s2, 48(t0)
  sd s3, 56(t0)
  sd s4, 64(t0)
  sd s5, 72(t0)
  sd s6, 80(t0)
  sd s7, 88(t0)
  sd s8, 96(t0)
  sd s9, 104(t0)
  sd s10, 112(t0)
  sd s11, 120(t0)
  csrw mepc, a0
  li t1, 0x1800
  csrc mstatus, t1
  csrw mscratch, t0
  mv sp, a1
  mv a0, a2
  mv a1, a3
  /* The app starts with no kernel values in its registers. */
  li ra, 0
  li gp, 0
  li tp, 0
  li t0, 0
  li t1, 0
  li t2, 0
  li s0, 0
  li s1, 0
  li a2, 0
  li a3, 0
  li a4, 0
  li a5, 0
  li a6, 0
  li a7, 0
  li s2, 0
  li s3, 0
  li s4, 0
  li s5, 0
  li s6, 0
  li s7, 0
  li s8, 0
  li s9, 0
  li s10, 0
  li s11, 0
  li t3, 0
  li t4, 0
  li t5, 0
  li t6, 0
  mret

  .align 4
trap_entry:
  csrrw t0, mscratch, t0
  beqz t0, kernel_trap
  csrw mscratch, zero
  ld ra, 0(t0)
  ld sp, 8(t0)
  ld gp, 16(t0)
  ld tp, 24(t0)
  ld s0, 32(t0)
  ld s1, 40(t0)
  ld s2, 48(t0)
  ld s3, 56(t0)
  ld s4, 64(t0)
  ld s5, 72(t0)
  ld s6, 80(t0)
  ld s7, 88(t0)
  ld s8, 96(t0)
  ld s9, 104(t0)
  ld s10, 112(t0)
  ld s11, 120(t0)
  csrr a0, mcause
  csrr a1, mtval
  ret
kernel_trap:
  csrrw t0, mscratch, t0
  la sp, __stack_top
  csrr a0, mcause
  csrr a1, mepc
  csrr a2, mtval
  j kernel_fault

  .bss
  .align 3
kctx:
  .space 128
