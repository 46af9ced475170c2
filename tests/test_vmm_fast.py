"""`VMM.run` (direct execution on the machine's compiled blocks between traps)
does what `VMM.step` repeated does: same virtual and real states, counters,
trap history and stop, on every bundled spec's sample programs, under the
classic and the hybrid VMM, in every guest context."""

from __future__ import annotations

import pytest

from vmcheck.hypervisor.vmm import CLASSIC, HYBRID, VMM
from vmcheck.machine.assembler import assemble_file
from vmcheck.spec.library import bundled_names, programs
from vmcheck.spec.load import load_spec

CASES = [(name, p) for name in bundled_names() for p in programs(name)]


def _run(isa, ctx, kind, image, fast: bool, limit: int):
    vmm = VMM(isa, ctx, kind)
    vmm.load_image(image)
    try:
        vmm.reset()
    except Exception as e:  # a reset outside the context: the same for both ways
        return ("reset", type(e).__name__)
    if fast:
        n = vmm.run(limit)
    else:
        n = 0
        while not vmm.stopped and n < limit:
            vmm.step()
            n += 1
    return (
        n,
        vmm.stopped,
        list(vmm.guest_view().v),
        list(vmm.machine.state.v),
        vmm.counters.as_dict(),
        list(vmm.history),
    )


@pytest.mark.parametrize("name,program", CASES, ids=[f"{n}-{p.stem}" for n, p in CASES])
def test_run_is_step_repeated(name, program):
    isa = load_spec(name)
    image = assemble_file(isa, program).image
    for ctx in isa.contexts:
        for kind in (CLASSIC, HYBRID):
            for limit in (7, 5000):  # stopped mid-run, and run to its end
                assert _run(isa, ctx, kind, image, True, limit) == _run(isa, ctx, kind, image, False, limit), (
                    ctx.name,
                    kind,
                    limit,
                )
