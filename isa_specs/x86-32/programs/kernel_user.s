# A protected-mode kernel and one user process on the x86-32 spec.
#
# The kernel boots at CPL 0 (reset: eip = 0x1000), loads GDTR, IDTR and TR,
# fills two IDT gates (13: #GP, 0x80: the system call, DPL 3) and enters the
# user process at CPL 3 with IRET. The user process reads CS (RPL 3 shows),
# executes CLI (IOPL is 0: #GP, which the kernel counts and skips), calls the
# kernel with INT 0x80 (eax = 1: double ebx) and exits (eax = 0): the kernel
# halts. Expected at the end: ebx = 42, ecx = 0x1B, nfault = 1, CPL 0.
#
# The operands are written as the spec's ModRM modes read them: [esp] is
# the SIB form [esp+esp<<0] (index 100: none), [ebx+0x868] a disp32.
#
# Storage map (bytes): GDT 0x0000, TSS 0x0100, IDT 0x0800, kernel 0x1000,
# user 0x4000, user stack top 0x7000, kernel stack top 0x8000.

        .org 0x0000                  # GDT: null, kernel code/data, user code/data, TSS
gdt:    .word 0, 0, 0, 0, 0, 0, 0, 0
        .word 0xFF, 0xFF, 0, 0, 0, 0x9A, 0xCF, 0     # 0x08 code, DPL 0
        .word 0xFF, 0xFF, 0, 0, 0, 0x92, 0xCF, 0     # 0x10 data, DPL 0
        .word 0xFF, 0xFF, 0, 0, 0, 0xFA, 0xCF, 0     # 0x18 code, DPL 3
        .word 0xFF, 0xFF, 0, 0, 0, 0xF2, 0xCF, 0     # 0x20 data, DPL 3
        .word 0x67, 0, 0x00, 0x01, 0, 0x89, 0, 0     # 0x28 available 32-bit TSS at 0x100
gdt_ptr: .word 0x2F, 0, 0, 0, 0, 0                   # limit 47, base 0
idt_ptr: .word 0xFF, 0x07, 0x00, 0x08, 0, 0          # limit 0x7FF, base 0x800
nfault: .word 0, 0, 0, 0

        .org 0x0104                  # TSS: ESP0 = 0x8000, SS0 = 0x10
        .word 0x00, 0x80, 0, 0
        .word 0x10, 0, 0, 0

        .org 0x1000
start:  mov  ebx, gdt_ptr
        lgdt [ebx]
        mov  ebx, idt_ptr
        lidt [ebx]
        mov  eax, 0x10
        mov  ss, eax
        mov  ds, eax
        mov  es, eax
        mov  esp, 0x8000
        mov  eax, 0x28
        ltr  eax
        mov  ebx, 0                  # IDT gates: selector 0x08, offset < 64 KiB
        mov  eax, 0x80000+gp_handler
        mov  [ebx+0x868], eax       # vector 13: interrupt gate, DPL 0
        mov  eax, 0x8E00
        mov  [ebx+0x86C], eax
        mov  eax, 0x80000+sys_handler
        mov  [ebx+0xC00], eax       # vector 0x80: interrupt gate, DPL 3
        mov  eax, 0xEE00
        mov  [ebx+0xC04], eax
        push 0x23                    # enter the user process: SS, ESP, EFLAGS, CS, EIP
        push 0x7000
        push 0x2
        push 0x1B
        push user
        iret

sys_handler:                         # eax = 0: exit; eax = 1: ebx = 2 * ebx
        cmp  eax, 0
        jz   exit
        add  ebx, ebx
        iret
exit:   hlt

gp_handler:                          # count the fault, skip the instruction
        add  esp, 4                  # drop the error code
        mov  edx, [esp+esp<<0]      # the faulting EIP
        add  edx, 1                  # CLI (FA) is one byte long
        mov  [esp+esp<<0], edx
        mov  esi, 0
        mov  edx, [esi+nfault]
        inc  edx
        mov  [esi+nfault], edx
        iret

        .org 0x4000
user:   mov  ebx, 21
        mov  ecx, cs                 # 0x1B: the CPL shows in CS
        cli                          # #GP (CPL 3 > IOPL 0); the kernel skips it
        mov  eax, 1
        int  0x80                    # ebx = 42
        mov  eax, 0
        int  0x80                    # exit
