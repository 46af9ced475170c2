# The kernel enters its user process with JRST 1 (jump and drop to user mode).
# Natively the user's `halt` then traps (PRIV) and the kernel's handler halts.
# Under a classic VMM, `jrst1` runs directly in real user mode and never traps,
# so the VMM still believes the guest is in supervisor mode and emulates the
# `halt`: the runs diverge at `jrst1`. Under the hybrid VMM they agree.
        .org 8
        .word 0, trap, 0, 4096      # new PSW: supervisor, pc = trap, l = 0, b = 4096
        .org 16
start:  li    r1, 5
        jrst1 user
trap:   li    r2, 1
        halt
user:   addi  r1, r1, 1
        halt                        # privileged: traps to the kernel
