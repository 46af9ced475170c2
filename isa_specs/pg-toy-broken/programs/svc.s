# A small kernel and its user program on Popek & Goldberg's machine.
#
# The kernel boots in supervisor mode (reset: pc = 16, bound = 4096), enters
# user mode with LPSW, and serves supervisor calls: call 1 doubles r1, call 0
# ends the program (the kernel halts). The user program runs relocated to
# physical 1024 with a bound of 256 words.
#
# Storage map: 0..5 the old PSW, cause and argument that a trap saves;
# 8..11 the new PSW a trap loads; the kernel from 16; the user from 1024.
# The kernel owns r6 and r7 (a trap clobbers them); r1 carries the call's value.

        .org 8
        .word 0, trap, 0, 4096      # new PSW: supervisor, pc = trap, l = 0, b = 4096

        .org 16
start:  li   r7, upsw
        lpsw r7                     # enter user mode with the PSW below
upsw:   .word 1, 0, 1024, 256       # user, pc 0, l = 1024, b = 256

trap:   li   r7, 0
        ld   r6, calls(r7)          # count the calls
        addi r6, r6, 1
        st   r6, calls(r7)
        ld   r6, 5(r7)              # the call number (the trap argument)
        beq  r6, r7, exit           # call 0: exit
        add  r1, r1, r1             # call 1: double r1
        ld   r6, 1(r7)              # return past the svc: saved pc + 1
        addi r6, r6, 1
        st   r6, 1(r7)
        lpsw r7                     # resume the user with the saved PSW
exit:   halt

calls:  .word 0

        .org 1024                   # the user program (virtual address 0)
user:   li   r1, 21
        svc  1                      # r1 = 42
        li   r2, 1
        add  r3, r1, r2             # r3 = 43
        svc  0                      # exit
