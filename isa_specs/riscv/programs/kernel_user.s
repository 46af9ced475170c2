# A small S-mode kernel and one U-mode process. The hart starts as firmware
# leaves it for the kernel (S-mode, environment calls from U-mode delegated
# to S). The kernel drops to the process with SRET; the process makes a
# system call (a7 = 1: a0 += 22), stores the answer, and exits (a7 = 0),
# whereupon the kernel halts. Final state: a0 = a1 = 42, S-mode.

.org 0
kernel:                         # S-mode
    addi t0, zero, trap
    csrrw zero, CSR_STVEC, t0   # trap vector (direct mode)
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

trap:                           # S-mode trap handler
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
