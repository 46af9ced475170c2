# Every kind of trap on Popek & Goldberg's machine, caught by a small kernel.
#
# The user program (relocated to 1024, bound 256) executes a privileged
# instruction (PRIV), loads beyond its bound (MEM, a memory trap), tries to
# halt (PRIV again) and finally calls the kernel (SVC). The kernel logs each
# cause, skips the faulting instruction and resumes the user; on SVC it halts.
# Expected: nfault = 4, log = PRIV(1), MEM(2), PRIV(1), SVC(3).
# The kernel owns r5, r6 and r7.

        .org 8
        .word 0, trap, 0, 4096      # new PSW: supervisor, pc = trap, l = 0, b = 4096

        .org 16
start:  li   r7, upsw
        lpsw r7
upsw:   .word 1, 0, 1024, 256

trap:   li   r7, 0
        ld   r5, nfault(r7)
        ld   r6, 4(r7)              # the cause
        st   r6, log(r5)            # log[nfault] = cause
        addi r5, r5, 1
        st   r5, nfault(r7)
        li   r5, 3                  # SVC: the user is done
        beq  r6, r5, exit
        ld   r6, 1(r7)              # skip the faulting instruction
        addi r6, r6, 1
        st   r6, 1(r7)
        lpsw r7
exit:   halt

nfault: .word 0
log:    .word 0, 0, 0, 0

        .org 1024
user:   li   r0, 0
        getr r1                     # privileged: PRIV
        ld   r2, 300(r0)            # 300 >= bound 256: MEM
        li   r2, 7                  # still runs after the kernel skipped the load
        halt                        # privileged: PRIV
        svc  0                      # SVC: exit
