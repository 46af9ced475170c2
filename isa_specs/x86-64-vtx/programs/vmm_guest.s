# A minimal VMM: root ring 0 sets up a VMCS with the exiting controls of the
# `vtx` context, launches a guest at guest ring 0 and handles its VM exits.
#
# The guest clears and sets its own interrupt flag (CLI/STI/PUSHF/POPF cause no
# VM exit: with external-interrupt exiting the guest's IF is its own), runs
# CPUID (an unconditional VM exit: the VMM counts it and resumes the guest past
# it) and HLT (a VM exit by HLT exiting: the VMM halts the machine).
# Expected: rbx = the guest's RFLAGS image with IF clear (0x2 here), r12 = 1
# (one CPUID exit), r13 = 7, mode root0, exit_reason = 12 (HLT), and the
# guest's RFLAGS saved in the VMCS with IF set again (by its STI).

        .org 0x1000
start:  movl rax, 0x2000             # CR4.VMXE
        mov  cr4, rax
        vmxon
        movl rdx, 0x4000             # pin-based controls: external-interrupt exiting
        movl rax, 0x1
        vmwrite rdx, rax
        movl rdx, 0x4002             # primary: HLT, INVLPG, RDPMC, RDTSC, CR3 load/store,
        movl rax, 0x81819A80         #   MOV-DR, unconditional I/O exiting, secondary controls
        vmwrite rdx, rax
        movl rdx, 0x401E             # secondary: descriptor-table and WBINVD exiting
        movl rax, 0x44
        vmwrite rdx, rax
        movl rdx, 0x681E             # guest RIP, RSP, CS (CPL 0), RFLAGS (IF = 1)
        movl rax, guest
        vmwrite rdx, rax
        movl rdx, 0x681C
        movl rax, 0x7000
        vmwrite rdx, rax
        movl rdx, 0x0802
        movl rax, 0x08
        vmwrite rdx, rax
        movl rdx, 0x6820
        movl rax, 0x202
        vmwrite rdx, rax
        movl rdx, 0x6C16             # host RIP and RSP: where VM exits land
        movl rax, vm_exit
        vmwrite rdx, rax
        movl rdx, 0x6C14
        movl rax, 0x8000
        vmwrite rdx, rax
        movl rdx, 0x6C04             # host CR4: VMXE stays set after each VM exit
        movl rax, 0x2000
        vmwrite rdx, rax
        movl r12, 0
        vmlaunch

vm_exit:
        movl rdx, 0x4402             # the exit reason
        vmread rax, rdx
        cmp  rax, 12                 # HLT: the guest is done
        jz   done
        inc  r12                     # count the other exits (CPUID)
        movl rdx, 0x681E             # resume the guest past the exiting instruction
        vmread rcx, rdx
        add  rcx, 8
        vmwrite rdx, rcx
        vmresume
done:   hlt

        .org 0x4000
guest:  cli                          # no VM exit: the guest's own IF
        pushf
        pop  rbx                     # IF is clear in the guest's view
        sti
        cpuid                        # VM exit (unconditional)
        mov  r13, 7
        hlt                          # VM exit (HLT exiting)
