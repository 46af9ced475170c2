# A guest kernel in VS-mode and one process in VU-mode. The hart starts as a
# hypervisor leaves it for its guest (VS-mode, environment calls from VU-mode
# delegated through HS to VS). The guest kernel uses the ordinary S-mode CSR
# numbers, which reach its VS CSRs (vstvec, vsepc, vsstatus, vscause), drops
# to its process with SRET; the process makes a system call (a7 = 1:
# a0 += 22), stores the answer and exits (a7 = 0), whereupon the guest kernel
# asks its hypervisor to stop the machine with an environment call from
# VS-mode (cause 10, never delegated to VS), and the hypervisor's routine at
# stvec halts in HS-mode. Final state: a0 = a1 = 42, vscause = 8 (the
# process's calls went to the guest kernel), scause = 10, HS-mode.

.org 0
guest_kernel:                   # VS-mode
    addi t0, zero, trap
    csrrw zero, CSR_STVEC, t0   # reaches vstvec
    addi t0, zero, user
    csrrw zero, CSR_SEPC, t0    # reaches vsepc; vsstatus.SPP is 0: SRET goes to VU-mode
    sret

user:                           # VU-mode
    addi a0, zero, 20
    addi a7, zero, 1
    ecall                       # system call 1, to the guest kernel
    sd a0, 0x200(zero)
    addi a7, zero, 0
    ecall                       # system call 0: exit

trap:                           # VS-mode trap handler
    csrrs t1, CSR_SCAUSE, zero  # vscause: 8
    csrrs t2, CSR_SEPC, zero
    addi t2, t2, 4              # return past the ecall
    csrrw zero, CSR_SEPC, t2
    beq a7, zero, exit
    addi a0, a0, 22
    sret
exit:
    ld a1, 0x200(zero)
    ecall                       # to the hypervisor: stop the machine

.org 0x300
hypervisor:                     # HS-mode, at stvec
    halt
