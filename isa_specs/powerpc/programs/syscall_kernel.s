# A small 32-bit PowerPC kernel: it enters a user program in the problem
# state with rfi (SRR0 = entry, SRR1 = MSR with PR set), serves its system
# calls at the 0xC00 vector (r0 = 1: add 100 to r3; r0 = 2: exit) and
# returns with rfi, which restores the user's MSR from SRR1. Exit sets
# MSR[POW], which stops the simulated machine (no interrupt can wake it).

        .org 0x100                      # system reset
start:  addi r4, r0, user               # SRR0: the user program
        mtspr 26, r4
        addi r5, r0, 0x4000             # SRR1: MSR with PR (bit 17) set
        mtspr 27, r5
        rfi

        .org 0x700                      # program interrupt: stop
prog:   mfspr r30, 27                   # SRR1: why
        addis r10, r0, 4                # MSR[POW]
        mtmsr r10

        .org 0xC00                      # system call
sysc:   cmpwi 0, r0, 2
        bc 12, 2, exit                  # beq: exit
        addi r3, r3, 100                # service 1
        rfi
exit:   addis r10, r0, 4                # MSR[POW]: stop
        mtmsr r10

        .org 0x2000
user:   addi r3, r0, 23
        addi r0, r0, 1
        sc                              # r3 += 100
        mfspr r6, 8                     # mflr: a user-level SPR
        addi r0, r0, 2
        sc                              # exit
        b user
