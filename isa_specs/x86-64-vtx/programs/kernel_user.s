# A 64-bit kernel and one user process in VMX root operation (no guest yet).
#
# The kernel boots at root ring 0 (reset: rip = 0x1000), loads GDTR, IDTR and
# TR, fills the #GP gate (vector 13, a 16-byte interrupt gate), programs
# STAR/LSTAR/FMASK for SYSCALL and enters the user process at ring 3 with
# SYSRET. The user reads CS (RPL 3), executes CLI (#GP through the IDT; the
# kernel counts it, skips the instruction and returns with IRETQ), calls the
# kernel with SYSCALL (rax = 1: double rbx) and exits (rax = 0): the kernel
# halts. Expected: rbx = 42, rdx = 0x23, nfault = 1, mode root0.
#
# Storage (bytes): GDT 0x0000, TSS 0x0100, IDT 0x0800, kernel 0x1000,
# user 0x4000, user stack top 0x7000, kernel stack top (RSP0) 0x8000.

        .org 0x0000
gdt:    .word 0, 0, 0, 0, 0, 0, 0, 0
        .word 0xFF, 0xFF, 0, 0, 0, 0x9A, 0xAF, 0     # 0x08 64-bit code, DPL 0
        .word 0xFF, 0xFF, 0, 0, 0, 0x92, 0xCF, 0     # 0x10 data, DPL 0
        .word 0xFF, 0xFF, 0, 0, 0, 0xF2, 0xCF, 0     # 0x18 data, DPL 3 (SYSRET's SS)
        .word 0xFF, 0xFF, 0, 0, 0, 0xFA, 0xAF, 0     # 0x20 64-bit code, DPL 3 (SYSRET's CS)
        .word 0x67, 0, 0x00, 0x01, 0, 0x89, 0, 0     # 0x28 64-bit TSS at 0x100 (16 bytes)
        .word 0, 0, 0, 0, 0, 0, 0, 0
gdt_ptr: .word 0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0       # limit 55, base 0
idt_ptr: .word 0xFF, 0x0F, 0x00, 0x08, 0, 0, 0, 0, 0, 0   # limit 0xFFF, base 0x800
nfault: .word 0, 0, 0, 0, 0, 0, 0, 0

        .org 0x0104                  # TSS: RSP0 = 0x8000
        .word 0x00, 0x80, 0, 0, 0, 0, 0, 0

        .org 0x1000
start:  movl rbx, gdt_ptr
        lgdt [rbx]
        movl rbx, idt_ptr
        lidt [rbx]
        movl rax, 0x28
        ltr  rax
        movl rbx, 0                  # the #GP gate: selector 0x08, type 0x8E, offset < 64 KiB
        movl rax, 0x8E00
        shl  rax, 32
        movl rcx, 0x80000+gp_handler
        or   rax, rcx
        mov  0x8D0[rbx], rax
        movl rax, 0
        mov  0x8D8[rbx], rax
        movl rcx, 0xC0000081         # STAR: SYSCALL CS 0x08, SYSRET base 0x10
        movl rax, 0
        movl rdx, 0x00100008
        wrmsr
        movl rcx, 0xC0000082         # LSTAR: the system-call entry
        movl rax, sys_entry
        movl rdx, 0
        wrmsr
        movl rcx, 0xC0000084         # FMASK: SYSCALL clears IF
        movl rax, 0x200
        wrmsr
        movl rsp, 0x7000             # enter the user process
        movl rcx, user
        movl r11, 0x2
        sysret

sys_entry:                           # rax = 0: exit; rax = 1: rbx = 2 * rbx
        cmp  rax, 0
        jz   exit
        add  rbx, rbx
        sysret
exit:   hlt

gp_handler:                          # count the fault, skip the instruction, return
        add  rsp, 8                  # drop the error code
        mov  r8, 0[rsp]              # the faulting RIP
        add  r8, 8
        mov  0[rsp], r8
        movl r9, 0
        mov  r8, nfault[r9]
        inc  r8
        mov  nfault[r9], r8
        iretq

        .org 0x4000
user:   mov  rbx, 21
        mov  rdx, cs                 # 0x23: the CPL shows in CS
        cli                          # #GP: CPL 3 > IOPL 0
        mov  rax, 1
        syscall                      # rbx = 42
        mov  rax, 0
        syscall                      # exit
