# A small MIPS32 kernel: boot, enter a user process, serve its system calls.
#
# Boot runs from the reset vector 0xBFC00000 (kseg1; physical byte 0 of this
# 64 KiB machine) in kernel mode with BEV = 1. It clears the system-call counter, a
# kernel variable in kseg0 (0x80001000: unmapped, physical 0x1000), points
# EPC at the user program (kuseg 0x2000), sets Status to UM | EXL (still
# kernel mode, now with BEV clear) and ERETs into user mode.
#
# The user program makes two system calls with $v0 = 1 ("how many calls so
# far?") and one with $v0 = 10 (exit). Each SYSCALL enters the general
# exception vector 0x80000180 (EBase + 0x180), where the handler counts the
# call in kseg0, answers in $v0, steps EPC past the SYSCALL and ERETs; on
# exit it stops the machine with WAIT. At the end $s0 = 1, $s1 = 2 and the
# word at physical 0x1000 is 3.
#
# Conventions of this spec's assembler (README): a branch to L is written
# `L-4` (MIPS offsets count from the delay slot), and every branch and jump
# has a NOP (`sll $zero, $zero, 0`) in its delay slot, which the spec does
# not model.
#
# Under a classic VMM (the guest kernel in user mode, CU0 = 0) every CP0
# instruction here traps and is emulated, and so is every kseg0 access
# (lw/sw at 0x1000($k1)): in user mode they raise an address error, and the
# VMM performs them on the guest's virtual physical memory.

        .org 0                      # 0xBFC00000: reset
boot:   lui $t0, 0x8000             # kseg0 base
        sw $zero, 0x1000($t0)       # calls = 0 (kseg0: physical 0x1000)
        ori $t1, $zero, 0x2000      # the user program's entry (kuseg)
        mtc0 $t1, $14, 0            # EPC
        ori $t1, $zero, 0x12        # Status = UM | EXL: BEV = 0, CU0 = 0
        mtc0 $t1, $12, 0
        eret                        # to 0x2000 in user mode

        .org 0x180                  # 0x80000180: general exception vector
handler:
        mfc0 $k0, $13, 0            # Cause
        andi $k0, $k0, 0x7C         # ExcCode << 2
        ori $k1, $zero, 0x20        # Sys (8) << 2
        bne $k0, $k1, fatal-4
        sll $zero, $zero, 0         # delay slot
        lui $k1, 0x8000
        lw $k0, 0x1000($k1)         # one more system call (kseg0)
        addiu $k0, $k0, 1
        sw $k0, 0x1000($k1)
        ori $k1, $zero, 10
        beq $v0, $k1, exit-4        # service 10: exit
        sll $zero, $zero, 0         # delay slot
        addu $v0, $k0, $zero        # service 1: the count so far
        mfc0 $k0, $14, 0            # EPC: the SYSCALL itself
        addiu $k0, $k0, 4           # resume after it
        mtc0 $k0, $14, 0
        eret
exit:   wait                        # no interrupts: the machine stops
fatal:  break 1                     # an unexpected exception: stop with
        wait                        # Cause.ExcCode = Bp as evidence

        .org 0x2000                 # the user program (kuseg)
user:   ori $v0, $zero, 1
        syscall 0
        addu $s0, $v0, $zero        # 1
        ori $v0, $zero, 1
        syscall 0
        addu $s1, $v0, $zero        # 2
        ori $v0, $zero, 10
        syscall 0                   # exit
