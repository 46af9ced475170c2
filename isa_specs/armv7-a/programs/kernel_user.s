# A small ARMv7-A kernel: it sets up the SVC and User stacks, enters a User
# process with an exception return, serves two supervisor calls and idles.
#   svc 1: r0 = r0 + r1, returned with RFE (after SRS on entry)
#   svc 2: exit; the kernel stores r4 at 0x100 and idles in SVC mode with
#          IRQs masked. With no timer running (the spec's default) the first
#          WFI waits for ever; with run --timer N each tick wakes WFI without
#          being taken, and it waits again.
        .org 0
        b reset                 # 0x00 reset
        b undef                 # 0x04 undefined instruction
        b svc_entry             # 0x08 supervisor call
        b abort                 # 0x0C prefetch abort
        b abort                 # 0x10 data abort

reset:                          # SVC mode, A/I/F masked
        movw sp, 0x8000         # SVC stack
        cps 0, 0, 1, 0x1F       # System mode: shares the User registers
        movw sp, 0x7000         # User stack
        cps 0, 0, 1, 0x13       # back to SVC
        movw r0, 0x10           # SPSR_svc = User mode, interrupts enabled
        msr spsr, 15, r0
        movw lr, user
        movs pc, lr             # exception return into the User process

user:
        movw r0, 20
        movw r1, 22
        svc 1                   # r0 = r0 + r1
        mov r4, r0
        mrs r5, cpsr            # r5 = 0x10: User mode
        svc 2                   # exit
        b .

svc_entry:
        srsdb sp!, 0x13         # push LR_svc and SPSR_svc on the SVC stack
        stmdb sp!, 0x1000       # push r12
        sub r12, lr, 4
        ldr r12, [r12, 0]       # the SVC instruction itself
        bic r12, r12, 0x4FF     # its 24-bit comment field (clear 0xFF000000)
        cmp r12, 2
        beq sys_exit
        add r0, r0, r1
        ldmia sp!, 0x1000       # pop r12
        rfeia sp!               # pc and CPSR from the stack: back to User mode

sys_exit:
        movw r6, 0x100
        str r4, [r6, 0]
idle:   wfi
        b idle

undef:
        b idle
abort:
        b idle
