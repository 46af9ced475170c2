# The guest kernel asks which mode it is in: natively r1 = 0 (supervisor);
# under a classic VMM the kernel runs in real user mode and `getm` does not
# trap, so r1 = 1. `vmcheck confirm pg-toy-broken` shows this divergence.
        .org 16
start:  getm r1
        halt
