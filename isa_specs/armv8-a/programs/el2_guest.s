# A hypervisor at EL2 starts a guest kernel at EL1 with the HCR_EL2 traps set;
# the guest kernel starts a process at EL0, which makes two system calls
# (number in x8, as Linux does):
#   svc, x8 = 1: x0 = x0 + x1, served by the guest kernel at EL1 alone
#   svc, x8 = 2: exit; the guest kernel asks the hypervisor to stop (HVC)
# On its way the guest kernel reads SCTLR_EL1, which HCR_EL2.TRVM traps to EL2;
# the hypervisor's handler just skips it (x5 keeps its value).
        .org 0
reset:                                  # EL2, SP_EL2, D/A/I/F masked
        movz x0, 0x8000, 0
        add x31, x0, 0                  # SP_EL2 (register 31 is SP in ADD immediate)
        movz x0, 0x800, 0
        msr VBAR_EL2, x0
        movz x0, 0x1000, 0
        msr VBAR_EL1, x0
        movz x0, 0x7000, 0
        msr SP_EL1, x0
        movz x0, 0x6000, 0
        msr SP_EL0, x0
        movz x0, 0x6039, 0              # HCR_EL2: VM FMO IMO AMO TWI TWE TID1 TID2 TID3 TSC
        movk x0, 0x440F, 1              #          TVM TRVM
        msr HCR_EL2, x0
        movz x0, 0x3C5, 0               # SPSR_EL2: EL1 with SP_EL1, D/A/I/F masked
        msr SPSR_EL2, x0
        movz x0, kernel, 0
        msr ELR_EL2, x0
        eret                            # enter the guest kernel

kernel:                                 # EL1
        movz x5, 0x5555, 0
        mrs x5, SCTLR_EL1               # trapped by TRVM; skipped by the hypervisor
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

        .org 0xC00                      # EL2 vector: synchronous, from a lower level
el2_sync:
        mrs x9, ESR_EL2
        movz x10, 26, 0
        lsr x9, x9, x10                 # the exception class
        movz x10, 0x16, 0               # HVC?
        subs xzr, x9, x10
        b.eq el2_stop
        mrs x11, ELR_EL2                # a trapped access: skip it
        add x11, x11, 4
        msr ELR_EL2, x11
        eret
el2_stop:
        wfi                             # at EL2 nothing traps it: the machine halts

        .org 0x1400                     # EL1 vector: synchronous, from EL0
el1_sync:
        movz x10, 2, 0
        subs xzr, x8, x10
        b.eq sys_exit
        add x0, x0, x1
        eret
sys_exit:
        hvc 0
