        .org 16
start:  ldi  sp, 512
        ldi  b, 100
        ldi  a, 0x1234
        st   a, (b)
        ds2  ld c, (b)       # reads 0x200 + 100: 0
        ldi  c, 3
        rep  inc a           # a += 1 while c counts down 3..0
        call sub
        xchg a, b
        nop
        hlt
sub:    getrl a
        ret
