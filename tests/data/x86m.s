# tests/data/x86m.yaml: ModRM modes, rel8/rel32 from the next instruction, LEA.
# Expected at the end: ebx = 0x3000, ecx = 0x3010, eax = 0x5678 + 1 (via
# [byte ecx+-16] = [0x3000]), edx = 0x5678 (stored at [ebx+esi<<2] and read
# back), esp = 0x7FFC with the return address 0x123 pushed by `call`.
        .org 0x2000
        .word 0x00, 0x30, 0, 0                # [0x2000] = 0x3000
        .word 0x00, 0x80, 0, 0                # [0x2004] = 0x8000
        .org 0x3000
        .word 0x78, 0x56, 0, 0                # [0x3000] = 0x5678

        .org 0x100
start:  mov  ebx, [0x2000]          # abs: 8B 1D 00 20 00 00
        mov  esp, [0x2004]          #      8B 25 04 20 00 00
        lea  ecx, [ebx+0x10]        # d32: 8D 8B 10 00 00 00
        mov  eax, [byte ecx+-16]    # d8:  8B 41 F0
        mov  [ebx+esi<<2], eax      # SIB: 89 04 B3
        mov  edx, [ebx+esi<<2]      #      8B 14 B3
        jmp  short over             # EB 01
        inc  ebx                    # skipped
over:   call sub                    # E8 00 00 00 00: sub is the next instruction
sub:    inc  eax
        hlt
