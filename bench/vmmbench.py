"""The reference VMM against the bare machine, and fuzzing throughput, on pg-toy.

Two guest programs run under a small kernel (the kernel of
isa_specs/pg-toy/programs/svc.s): one spends its time in user mode (a
compute loop, one system call at the end), the other makes a system call on
every turn of its loop (each is a trap reflected to the guest kernel and a
privileged `lpsw` emulated on the way back). Each runs natively
(`Machine.run`) and under the classic VMM (`VMM.run`, its existing API);
both must end halted with the same registers.
"""

from __future__ import annotations

import statistics
import time

from vmcheck.hypervisor.fuzz import fuzz
from vmcheck.hypervisor.vmm import CLASSIC, VMM
from vmcheck.machine import Machine, assemble
from vmcheck.spec.load import load_spec

KERNEL = """
        .org 8
        .word 0, trap, 0, 4096      # new PSW: supervisor, pc = trap, l = 0, b = 4096
        .org 16
start:  li   r7, upsw
        lpsw r7                     # enter user mode
upsw:   .word 1, 0, 1024, 256       # user, pc 0, l = 1024, b = 256
trap:   li   r7, 0
        ld   r6, 5(r7)              # the call number
        beq  r6, r7, exit           # call 0: exit
        addi r5, r5, 1              # call 1: count it
        ld   r6, 1(r7)              # return past the svc
        addi r6, r6, 1
        st   r6, 1(r7)
        lpsw r7
exit:   halt
        .org 1024
"""

USER_LOOP = (
    KERNEL
    + """
        li   r1, 0
        li   r2, {n}
        li   r4, 1
loop:   add  r1, r1, r4
        add  r3, r3, r1
        beq  r1, r2, done
        jmp  loop
done:   svc  0
"""
)

SYSCALL_LOOP = (
    KERNEL
    + """
        li   r1, 0
        li   r2, {n}
        li   r4, 1
loop:   add  r1, r1, r4
        svc  1
        beq  r1, r2, done
        jmp  loop
done:   svc  0
"""
)


def _native(isa, image) -> tuple[float, Machine]:
    m = Machine(isa)
    m.load_image(image)
    m.reset()
    t0 = time.process_time()
    r = m.run(10**8)
    dt = time.process_time() - t0
    assert r.reason == "halted", r
    return dt, m


def _virtual(isa, image) -> tuple[float, VMM]:
    vmm = VMM(isa, isa.context("classic"), CLASSIC)
    vmm.load_image(image)
    vmm.reset()
    t0 = time.process_time()
    vmm.run(10**8)
    dt = time.process_time() - t0
    assert vmm.stopped == "halted", vmm.stopped
    return dt, vmm


def measure_vmm(repeat: int, user_turns: int, calls: int) -> dict:
    isa = load_spec("pg-toy")
    out = {}
    per_direct = None
    for name, src, n in (("user", USER_LOOP, user_turns), ("syscall", SYSCALL_LOOP, calls)):
        image = assemble(isa, src.format(n=n), f"<{name}>").image
        nat, vir = [], []
        for _ in range(repeat):
            dn, m = _native(isa, image)
            dv, vmm = _virtual(isa, image)
            nat.append(dn)
            vir.append(dv)
        # the guest computed the same thing on both
        regs = [m.state.get("r", i) for i in range(8)]
        vregs = [vmm.vstate.get("r", i) for i in range(8)]
        assert regs[:6] == vregs[:6], (name, regs, vregs)
        c = vmm.counters
        traps = c.emulated_privileged + c.emulated_other + c.reflected
        tn, tv = statistics.median(nat), statistics.median(vir)
        row = {
            "guest_steps": m.steps,
            "vmm_traps": traps,
            "direct": c.direct,
            "native_s": tn,
            "vmm_s": tv,
            "vmm_over_native": tv / tn,
        }
        if name == "user":
            per_direct = tv / max(c.direct, 1)
        else:
            # what the traps cost beyond running the direct instructions
            row["trap_round_trip_us"] = (tv - per_direct * c.direct) / max(traps, 1) * 1e6
        out[name] = row
    return out


def measure_fuzz(repeat: int, programs: int) -> dict:
    isa = load_spec("pg-toy")
    ctx = isa.context("classic")
    rates = []
    for k in range(repeat):
        t0 = time.process_time()
        report = fuzz(isa, ctx, kind=CLASSIC, programs=programs, seed=k)
        rates.append(programs / (time.process_time() - t0))
    return {
        "spec": "pg-toy",
        "programs": programs,
        "programs_per_s": statistics.median(rates),
        "guest_steps_last": report.steps,
    }
