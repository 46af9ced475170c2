# Sum 1..1000 in supervisor mode (no traps): r1 = 500500.
        .org 16
start:  li   r1, 0                  # the sum
        li   r2, 0                  # i
        li   r3, 1000               # n
        li   r4, 1
loop:   add  r2, r2, r4
        add  r1, r1, r2
        beq  r2, r3, done
        jmp  loop
done:   halt
