# A small System/370 supervisor: it loads a problem-state PSW to run a user
# program at 0x1000; the program adds two numbers and asks the supervisor,
# with SVC 1, to record the sum; SVC 3 ends it. The SVC handler reads the
# SVC number the interruption stored at real 138, serves it and returns by
# reloading the SVC old PSW (real 32). The end is a disabled wait PSW, which
# stops the simulated machine. Storage is big-endian bytes: a .word is one
# byte, so each PSW below is written as its eight bytes.

        .org 0x60                       # SVC new PSW: EC mode, supervisor, key 0, at svch
        .word 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00
        .org 0x68                       # program new PSW: at pgmh
        .word 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x03, 0x80

        .org 0x200
start:  LA r1, 0(r0, r0)
        ST r1, 0x500(r0, r0)            # the result word: 0
        LPSW upsw(r0)                   # enter the problem state at 0x1000

        .org 0x240
upsw:   .word 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00   # EC, problem state, at 0x1000
waitp:  .word 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00   # EC, wait: the end

        .org 0x300
svch:   LH r3, 138(r0, r0)              # the SVC number
        LA r4, 3(r0, r0)
        CR r3, r4
        BC 8, done(r0, r0)              # SVC 3: exit
        ST r1, 0x500(r0, r0)            # SVC 1: record the user's R1
        LPSW 32(r0)                     # back to the user (SVC old PSW)
done:   LPSW waitp(r0)

        .org 0x380
pgmh:   LPSW waitp(r0)                  # any program check ends the run

        .org 0x1000
user:   LA r1, 5(r0, r0)
        LA r2, 37(r0, r0)
        AR r1, r2                       # R1 = 42
        SVC 1
        SVC 3
        BCR 15, r12                     # not reached
