# A small KA10 monitor: it gives a user program the first 1K words of memory
# (protection Pl = 0, relocation Rl = 0), enters user mode with JRST 1, and
# serves the program's monitor UUOs (CALLI, opcode 047): CALLI 1 types the
# low byte of AC1 on the teletype, CALLI 12 (EXIT) halts. Each UUO is stored
# at 40 and the JSR at 41 saves the user's PC word; JRST 2,@ returns to user
# mode by restoring those flags.
# Syntax: OP AC, Y(X) @I  (X the index register number, I the indirect bit).

        .org 0o40
uuo:    .word 0                         # 40: the UUO is stored here
        JSR uuoh(0) @0                  # 41: monitor UUO handler
        JSR memh(0) @0                  # 42: APR interrupt (memory protection)

# ---- the user program (virtual = physical addresses, 0..1777) ----
        .org 0o140
user:   MOVEI ac1, 0o101(0) @0          # 'A'
        ADDI ac1, 2(0) @0               # 'C'
        MUUO 7, ac1, 1(0) @0            # CALLI 1: type AC1
        MOVEM ac1, 0o200(0) @0
        AOS ac3, 0o200(0) @0            # C(200) and AC3 become 'D'
        MOVE ac1, 0o200(0) @0
        MUUO 7, ac1, 1(0) @0            # CALLI 1: type 'D'
        MUUO 7, ac0, 0o12(0) @0         # CALLI 12: EXIT
        JRST 0, user(0) @0              # not reached

# ---- the monitor, above the user's protection ----
        .org 0o2000
start:  DATAO 0, aprw(0) @0             # low segment: Pl = 0, Rl = 0
        JRST 1, user(0) @0              # enter user mode at 140

uuoh:   .word 0                         # the JSR at 41 saves the user's PC word here
        HRRZ ac2, uuo(0) @0             # E of the UUO: the CALLI function
        CAIN ac2, 0o12(0) @0            # EXIT?
        JRST 4, done(0) @0              # yes: halt
        CAIE ac2, 1(0) @0               # type?
        JRST 2, uuoh(0) @1              # no: ignore it
        MOVEM ac1, outc(0) @0
        DATAO 0o24, outc(0) @0          # TTY (device 120): output the character
        JRST 2, uuoh(0) @1              # return to the user: flags (USER) and PC restored

memh:   .word 0
        JRST 4, memh(0) @0              # a protection violation: halt

done:   JRST 4, done(0) @0
aprw:   .word 0                         # Pl, Ph, write protect, Rl, Rh: all 0
outc:   .word 0
