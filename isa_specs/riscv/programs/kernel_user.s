# A small S-mode kernel and one U-mode process on the bare machine.
# M-mode firmware delegates U-mode environment calls to S-mode and enters
# the kernel; the kernel drops to the process with SRET; the process makes
# a system call (a7 = 1: a0 += 22), stores the answer, and exits (a7 = 0),
# whereupon the kernel halts. Final state: a0 = a1 = 42, mode S.

.org 0
firmware:                       # M-mode, after reset
    addi t0, zero, 256          # medeleg bit 8: environment call from U-mode
    csrrw zero, CSR_MEDELEG, t0
    addi t0, zero, m_trap
    csrrw zero, CSR_MTVEC, t0
    addi t0, zero, s_trap
    csrrw zero, CSR_STVEC, t0
    addi t0, zero, 1
    slli t0, t0, 11             # mstatus.MPP = S (bits 12:11 = 01)
    csrrs zero, CSR_MSTATUS, t0
    addi t0, zero, kernel
    csrrw zero, CSR_MEPC, t0
    mret

kernel:                         # S-mode
    addi t0, zero, user
    csrrw zero, CSR_SEPC, t0    # sstatus.SPP is 0: SRET goes to U-mode
    sret

user:                           # U-mode
    addi a0, zero, 20
    addi a7, zero, 1
    ecall                       # system call 1
    sd a0, 0x200(zero)
    addi a7, zero, 0
    ecall                       # system call 0: exit

s_trap:                         # S-mode trap handler
    csrrs t1, CSR_SCAUSE, zero  # 8: environment call from U-mode
    csrrs t2, CSR_SEPC, zero
    addi t2, t2, 4              # return past the ecall
    csrrw zero, CSR_SEPC, t2
    beq a7, zero, exit
    addi a0, a0, 22
    sret
exit:
    ld a1, 0x200(zero)
    halt

m_trap:                         # anything not delegated: stop with a marker
    addi a1, zero, -1
    halt
