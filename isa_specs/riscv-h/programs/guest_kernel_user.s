# A hypervisor in HS-mode runs a guest kernel in VS-mode with one process in
# VU-mode, natively on the bare machine. M-mode firmware delegates environment
# calls to HS-mode, the hypervisor delegates those from VU-mode on to the guest
# (hedeleg), stores a word into guest memory with HSV.D and enters the guest
# with SRET (hstatus.SPV = 1, sstatus.SPP = 1). The guest kernel, using the
# ordinary S-mode CSR numbers (which reach its VS CSRs), drops to its process;
# the process makes a system call (a7 = 1: a0 += the word the hypervisor
# stored), stores the answer and exits (a7 = 0), whereupon the guest kernel
# halts. Final state: a0 = a1 = 42, mode VS.

.org 0
firmware:                       # M-mode, after reset
    addi t0, zero, 1
    slli t0, t0, 8              # cause 8: environment call from U-mode or VU-mode
    csrrw zero, CSR_MEDELEG, t0
    csrrw zero, CSR_HEDELEG, t0 # ... and from VU-mode on to VS-mode
    addi t0, zero, m_trap
    csrrw zero, CSR_MTVEC, t0
    addi t0, zero, hs_trap
    csrrw zero, CSR_STVEC, t0
    addi t0, zero, 1
    slli t0, t0, 11             # mstatus.MPP = S, MPV = 0: MRET enters HS-mode
    csrrs zero, CSR_MSTATUS, t0
    addi t0, zero, hypervisor
    csrrw zero, CSR_MEPC, t0
    mret

hypervisor:                     # HS-mode
    addi t0, zero, 0x180        # hstatus.SPV (bit 7) and SPVP (bit 8)
    csrrs zero, CSR_HSTATUS, t0
    addi t0, zero, 22
    addi t1, zero, 0x208
    hsv.d t0, (t1)              # a word for the guest, stored as though from VS-mode
    addi t0, zero, 0x100        # sstatus.SPP = 1: SRET enters VS-mode
    csrrs zero, CSR_SSTATUS, t0
    addi t0, zero, guest_trap
    csrrw zero, CSR_VSTVEC, t0
    addi t0, zero, guest_kernel
    csrrw zero, CSR_SEPC, t0
    sret

guest_kernel:                   # VS-mode: S-mode CSR numbers reach vsepc, vsstatus, ...
    addi t0, zero, guest_user
    csrrw zero, CSR_SEPC, t0    # vsepc; vsstatus.SPP is 0: SRET goes to VU-mode
    sret

guest_user:                     # VU-mode
    addi a0, zero, 20
    addi a7, zero, 1
    ecall                       # system call 1, to the guest kernel
    sd a0, 0x200(zero)
    addi a7, zero, 0
    ecall                       # system call 0: exit

guest_trap:                     # VS-mode trap handler
    csrrs t1, CSR_SCAUSE, zero  # vscause: 8
    csrrs t2, CSR_SEPC, zero
    addi t2, t2, 4              # return past the ecall
    csrrw zero, CSR_SEPC, t2
    beq a7, zero, exit
    ld t3, 0x208(zero)          # the hypervisor's word
    add a0, a0, t3
    sret
exit:
    ld a1, 0x200(zero)
    halt

hs_trap:                        # anything reaching the hypervisor: stop with a marker
    addi a1, zero, -1
    halt

m_trap:                         # anything reaching M-mode: stop with a marker
    addi a1, zero, -2
    halt
