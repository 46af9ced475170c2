"""The reference hypervisor, on the simulated machine (docs/model.md §3).

* `vmm.py`: the trap-and-emulate VMM (classic and hybrid): dispatcher,
  interpreter routines, reflection, counters, hypercall servicing
  (`hypercalls.py`: the table code -> original instance a paravirtualised
  guest is run with); `translate.py`: the binary translating VMM built on it
  and its cost against the classic VMM; `allocator.py`: where the guest's storage
  lives and the real control state it runs under (`pins.py`: the bits a
  context's `where` pins).
* `lockstep.py`: one guest run natively and under a VMM, compared after
  every instruction; `witness_replay.py`: the engine's witnesses run both
  ways; `fuzz.py`: random guest programs, shrunk when they diverge.
* `campaign.py`: all of these for one context, judged against the engine's
  verdict (what `vmcheck confirm` prints).

Every module drives the machine through `machine.Machine`'s public step
(fetch, decode_at, execute, deliver_trap, tick, run).
"""
