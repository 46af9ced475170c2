# A guest kernel at EL1 (the virtual CPU resets there) starts a process at EL0,
# which makes two system calls (number in x8, as Linux does):
#   x8 = 1: x0 = x0 + x1
#   x8 = 2: exit; the kernel stores x4 at 0x100 and idles with WFI, which halts
#           the machine (no interrupts are modelled)
# On its way the kernel reads SCTLR_EL1. Under the reference VMM in context
# el2_traps, that read (HCR_EL2.TRVM) and the final WFI (TWI) trap to the VMM
# and are emulated; everything else runs directly.
        .org 0
reset:                                  # EL1, SP_EL1, D/A/I/F masked
        movz x0, 0x8000, 0
        add x31, x0, 0                  # SP_EL1 (register 31 is SP in ADD immediate)
        movz x0, 0x1000, 0
        msr VBAR_EL1, x0
        movz x0, 0x7000, 0
        msr SP_EL0, x0                  # the process's stack
        mrs x5, SCTLR_EL1
        movz x0, 0, 0                   # SPSR_EL1: EL0, interrupts unmasked
        msr SPSR_EL1, x0
        movz x0, user, 0
        msr ELR_EL1, x0
        eret                            # enter the process

user:                                   # EL0
        movz x0, 20, 0
        movz x1, 22, 0
        movz x8, 1, 0
        svc 0                           # x0 = x0 + x1
        orr x4, x0, xzr
        movz x8, 2, 0
        svc 0                           # exit
        b .

        .org 0x1400                     # EL1 vector: synchronous, from EL0
el1_sync:
        movz x10, 2, 0
        subs xzr, x8, x10
        b.eq sys_exit
        add x0, x0, x1
        eret
sys_exit:
        movz x6, 0x100, 0
        str x4, [x6, 0]
        wfi
