# A guest kernel that keeps its data in the unmapped supervisor segment.
#
# Boot (supervisor, relocation 0, bound 4096): set the system-call counter in
# the segment to 0, then start a user process relocated to physical 0x400
# with a bound of 0x100 words. The process makes two system calls (svc 1)
# and exits (svc 0). Each trap enters `handler`, which saves the user's r1
# and r2 in the segment, counts the call there, and resumes the process
# after the svc; on svc 0 it halts. At the end physical word 0x800 (the
# segment's counter) holds 3 and the process's r1 holds 5.
#
# r6 and r7 belong to the kernel (as MIPS reserves k0/k1): the user process
# leaves them alone, so the handler can reach the segment through r7.
#
# Under a classic VMM every ld/st below at 0(r7), 1(r7), 2(r7) comes from
# the deprivileged guest kernel at a segment address: it memory-traps and
# the VMM emulates it from the guest's virtual supervisor state.

        .org 8                  # new PSW, loaded on every trap
        .word 0, handler, 0, 4096

        .org 12                 # the user process's PSW, for lpsw
upsw:   .word 1, 0, 0x400, 0x100

        .org 16
start:  li r7, SEG_BASE         # the segment: kernel data at physical 0x800..
        li r1, 0
        st r1, 0(r7)            # system calls so far (in the segment)
        li r6, upsw
        lpsw r6                 # enter the user process at its word 0

handler:
        st r1, 1(r7)            # save the user's r1, r2 in the segment
        st r2, 2(r7)
        ld r1, 0(r7)            # count this system call
        addi r1, r1, 1
        st r1, 0(r7)
        li r6, 0                # the old PSW is at physical 0..3, cause 4, argument 5
        ld r1, 5(r6)            # the svc's code
        li r2, 0
        beq r1, r2, exit        # svc 0: the process is done
        ld r1, 1(r6)            # resume after the svc
        addi r1, r1, 1
        st r1, 1(r6)
        ld r1, 1(r7)            # restore the user's registers
        ld r2, 2(r7)
        lpsw r6                 # return to the process (old PSW at 0)

exit:   ld r1, 1(r7)            # leave the process's r1 in place, for inspection
        halt

# The user process, at physical 0x400 (virtual 0).
        .org 0x400
user:   li r1, 3
        svc 1                   # system call 1
        addi r1, r1, 1
        svc 1
        addi r1, r1, 1
        svc 0                   # exit
