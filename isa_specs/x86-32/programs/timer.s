# Timer interrupts on the x86-32 spec (the `interrupts` section: vector 32
# every 100 instructions while EFLAGS.IF is set).
#
# The kernel boots at CPL 0, loads GDTR, IDTR, TR and CS, fills the IDT gate of
# vector 32 with a trap gate (type 0xF: IF stays set in the handler, so the
# handler's IRET has no IF to restore) and enables interrupts with STI. It
# spins, counting in ecx, until the handler has counted 3 ticks; then HLT
# with IF set waits for the 4th and the 5th tick, and CLI; HLT stops the
# machine for good. Expected at the end: nticks = 5 (eax = 5), edx = 3,
# IF = 0, CPL 0; ecx is the number of spin rounds.
#
# Under the reference VMM, STI, CLI, HLT and the handler's IRET (a return to
# CPL 0 from a guest kernel deprivileged to CPL 1 or 3) trap and are
# emulated; the timer is the guest's virtual one, injected when the virtual
# IF is set, at the same instruction counts as natively.
#
# Storage map (bytes): GDT 0x0000, TSS 0x0100, IDT 0x0800, kernel 0x1000,
# kernel stack top 0x8000.

        .org 0x0000                  # GDT: null, kernel code/data, TSS
gdt:    .word 0, 0, 0, 0, 0, 0, 0, 0
        .word 0xFF, 0xFF, 0, 0, 0, 0x9A, 0xCF, 0     # 0x08 code, DPL 0
        .word 0xFF, 0xFF, 0, 0, 0, 0x92, 0xCF, 0     # 0x10 data, DPL 0
        .word 0x67, 0, 0x00, 0x01, 0, 0x89, 0, 0     # 0x18 available 32-bit TSS at 0x100
gdt_ptr: .word 0x1F, 0, 0, 0, 0, 0                   # limit 31, base 0
idt_ptr: .word 0xFF, 0x07, 0x00, 0x08, 0, 0          # limit 0x7FF, base 0x800
nticks: .word 0, 0, 0, 0
farptr: .word 0, 0, 0, 0                     # the kernel's EIP and CS, filled in at boot
farsel: .word 0, 0

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
        mov  eax, 0x18
        ltr  eax
        mov  ebx, 0                  # load CS = 0x08 (reset leaves the null selector there,
        mov  eax, kernel             # and the handler's IRET must return to a valid one)
        mov  [ebx+farptr], eax
        mov  eax, 0x08
        mov  [ebx+farsel], eax
        mov  eax, farptr
        jmp  far [eax]
kernel: mov  eax, 0x80000+tick       # IDT gate 32 at 0x800 + 32 * 8: selector 0x08, offset < 64 KiB
        mov  [ebx+0x900], eax
        mov  eax, 0x8F00             # present, DPL 0, 32-bit trap gate
        mov  [ebx+0x904], eax
        mov  esi, 0
        mov  ecx, 0
        sti
spin:   inc  ecx
        mov  edx, [esi+nticks]
        cmp  edx, 3
        jnz  spin
        hlt                          # IF = 1: waits for the 4th tick
        hlt                          # ... and the 5th
        cli
        mov  eax, [esi+nticks]
        hlt                          # IF = 0: stops for good

tick:   mov  eax, [esi+nticks]        # count the tick and return
        inc  eax
        mov  [esi+nticks], eax
        iret
