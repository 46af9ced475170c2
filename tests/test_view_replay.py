"""The privilege-aware concrete view (machine/translation.py `PageView`, `ViewPort`),
the reference VMM's composition of views (vmm.py `VMM.real_view`), and the replay
of the engine's witnesses on it (hypervisor/witness_replay.py)."""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import invoke
from vmcheck.analysis.results import Witness
from vmcheck.hypervisor.vmm import VMM
from vmcheck.hypervisor.witness_replay import replay_witness, witness_view
from vmcheck.machine.simulator import Machine
from vmcheck.machine.translation import IdentityPort, PageView, ViewPort
from vmcheck.semantics.state import MemoryTrap
from vmcheck.spec.load import load_spec

# A machine whose paging is abstracted into mem[...]: two levels, no translation,
# a memory cause that trap delivery records with its address.
SPEC = {
    "isa": "viewbox",
    "word": 16,
    "modes": ["svc", "usr"],
    "state": {
        "pc": {"width": 16, "role": "pc"},
        "m": {"width": 1, "role": "mode"},
        "pm": {"width": 1, "role": "control"},
        "r": {"count": 4, "width": 16},
    },
    "reset": {"pc": 16},
    "storage": {"size": 256, "unit": 8, "translation": "none"},
    "traps": {
        "causes": {"PRIV": 1, "DABT": {"code": 2, "memory": True}},
        "memory_cause": "DABT",
        "deliver": "phys[0] = zext(m, 8)\nphys[1] = fault_addr[7:0]\nphys[2] = cause[7:0]\nm = svc\npc = 64\n",
    },
    "contexts": {"host": "m == svc", "guest": {"g": {"where": "true", "modes": {"svc": "usr", "usr": "usr"}}}},
    "instructions": {
        "ld": {"operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}], "semantics": "r[rd] = zext(mem8[r[rs]], 16)"},
        "ld16": {"operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}], "semantics": "r[rd] = mem16[r[rs]]"},
        "ldt": {"operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}], "semantics": "r[rd] = zext(mem8[r[rs]] as usr, 16)"},
        "ldp": {
            "operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}],
            "semantics": "r[rd] = zext(mem8[r[rs]] as (pm), 16)",
        },
        "st": {"operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}], "semantics": "mem8[r[rs]] = r[rd][7:0]"},
        "stt": {"operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}], "semantics": "mem8[r[rs]] as usr = r[rd][7:0]"},
        "getm": {"operands": [{"rd": "reg(r)"}], "semantics": "r[rd] = zext(m, 16)"},
        "sup": {"semantics": "if m != svc { trap(PRIV) }\nm = usr"},
    },
}


@pytest.fixture(scope="module")
def isa(tmp_path_factory):
    p = tmp_path_factory.mktemp("view") / "viewbox.yaml"
    p.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    return load_spec(p)


def _machine(isa, mode: str, view: PageView | None = None) -> Machine:
    m = Machine(isa)
    m.state.set("m", isa.modes.code(mode))
    m.set_view(view)
    return m


def _run(m: Machine, name: str, ops: tuple[int, ...]):
    return m.execute(name, ops)


# ---- the view, unit by unit -------------------------------------------------


def test_the_default_view_is_the_identity_with_everything_allowed(isa):
    m = _machine(isa, "usr")
    assert type(m.port) is IdentityPort  # the fast port: nothing changes for existing programs
    m.set_view(PageView.of(isa))  # an empty view is the same
    assert type(m.port) is IdentityPort
    m.storage.write(0x30, 1, 0x5A)
    m.state.set("r", 0x30, 1)
    assert _run(m, "ld", (0, 1)).kind == "ok"
    assert m.state.get("r", 0) == 0x5A


def test_a_denied_read_faults_at_that_level_only_with_its_address(isa):
    view = PageView.of(isa)
    view.deny("read", "usr", 0x31)
    for mode, faults in (("usr", True), ("svc", False)):
        m = _machine(isa, mode, view)
        assert isinstance(m.port, ViewPort)
        m.state.set("r", 0x31, 1)
        out = _run(m, "ld", (0, 1))
        assert (out.kind != "ok") == faults, mode
        if faults:
            assert out.cause == "DABT" and out.fault_addr == 0x31
    # a two-unit access faults when any of its units does, with the access's address
    m = _machine(isa, "usr", view)
    m.state.set("r", 0x30, 1)
    out = _run(m, "ld16", (0, 1))
    assert out.kind != "ok" and out.fault_addr == 0x30


def test_as_level_and_as_expression_choose_the_level_checked(isa):
    view = PageView.of(isa)
    view.deny("read", "usr", 0x40)
    m = _machine(isa, "svc", view)
    m.state.set("r", 0x40, 1)
    assert _run(m, "ld", (0, 1)).kind == "ok"  # svc may read it
    assert _run(m, "ldt", (0, 1)).cause == "DABT"  # as usr may not
    m.state.set("pm", isa.modes.code("usr"))
    assert _run(m, "ldp", (0, 1)).cause == "DABT"  # as (pm) with pm = usr
    m.state.set("pm", isa.modes.code("svc"))
    assert _run(m, "ldp", (0, 1)).kind == "ok"


def test_write_and_execute_permissions_are_separate(isa):
    view = PageView.of(isa)
    view.deny("write", "usr", 0x50)
    view.deny("execute", "usr", 16)
    m = _machine(isa, "usr", view)
    m.state.set("r", 0x50, 1)
    m.state.set("r", 0x77, 0)
    assert _run(m, "ld", (2, 1)).kind == "ok"  # reading is allowed
    out = _run(m, "st", (0, 1))
    assert out.cause == "DABT" and m.storage.read(0x50, 1) == 0  # precise: nothing written
    with pytest.raises(MemoryTrap):
        m.fetch(16)
    m2 = _machine(isa, "svc", view)
    assert m2.fetch(16) == 16
    m2.state.set("r", 0x50, 1)
    m2.state.set("r", 0x77, 0)
    assert _run(m2, "st", (0, 1)).kind == "ok" and m2.storage.read(0x50, 1) == 0x77


def test_a_fetch_fault_is_delivered_by_the_simulator(isa):
    view = PageView.of(isa)
    view.deny("execute", "usr", 16)
    m = _machine(isa, "usr", view)
    ev = m.step()
    assert ev.insn is None and ev.outcome.cause == "DABT"
    assert m.storage.read(1, 1) == 16  # fault_addr: the pc
    assert m.state.get("pc") == 64


def test_mapped_units_read_and_write_their_own_physical_unit(isa):
    view = PageView.of(isa)
    view.map_unit(0x21, 0xF0)
    m = _machine(isa, "usr", view)
    m.storage.write(0x20, 1, 0x11)
    m.storage.write(0x21, 1, 0x22)
    m.storage.write(0xF0, 1, 0x33)
    m.state.set("r", 0x20, 1)
    assert _run(m, "ld16", (0, 1)).kind == "ok"
    assert isa.storage.endian == "little"
    assert m.state.get("r", 0) == 0x3311  # unit 0x20 low, unit 0x21 (physical 0xF0) high
    m.state.set("r", 0x21, 1)
    m.state.set("r", 0x99, 2)
    assert _run(m, "st", (2, 1)).kind == "ok"
    assert m.storage.read(0xF0, 1) == 0x99 and m.storage.read(0x21, 1) == 0x22


def test_a_read_after_a_store_to_a_write_only_unit_sees_the_store(tmp_path):
    data = dict(SPEC)
    data["instructions"] = {
        "stld": {
            "operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}],
            "semantics": "mem8[r[rs]] = 0x5A\nr[rd] = zext(mem8[r[rs] + 1], 16)",
        }
    }
    p = tmp_path / "stld.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    isa = load_spec(p)
    view = PageView.of(isa)
    view.deny("read", "usr", 0x30)  # the store's unit may be written, not read
    view.map_unit(0x31, 0x30)  # the read's unit is the store's physical unit
    m = _machine(isa, "usr", view)
    m.state.set("r", 0x30, 1)
    assert m.execute("stld", (0, 1)).kind == "ok"
    assert m.state.get("r", 0) == 0x5A and m.storage.read(0x30, 1) == 0x5A


def test_view_rejects_unknown_levels_and_kinds(isa):
    view = PageView.of(isa)
    with pytest.raises(ValueError):
        view.deny("read", "hyp", 0)
    with pytest.raises(ValueError):
        view.deny("fetch", "usr", 0)


# ---- the VMM composes views like shadow tables ---------------------------------


def _vmm_in(isa, vmode: str, view: PageView) -> VMM:
    vmm = VMM(isa, isa.context("g"))
    vmm.reset()
    vmm.set_view(view)
    st = vmm.vstate.copy()
    st.set("m", isa.modes.code(vmode))
    vmm.start_from(st)
    return vmm


def test_real_view_gives_the_guests_real_level_its_virtual_modes_permissions(isa):
    view = PageView.of(isa)
    view.deny("read", "usr", 0x31)  # user may not read 0x31; the kernel may
    view.deny("write", "svc", 0x32)
    kernel = _vmm_in(isa, "svc", view)  # guest kernel, deprivileged to real usr
    real = kernel.real_view()
    assert ("read", "usr", 0x31) not in real.denied  # real usr has the virtual kernel's permissions
    assert ("write", "usr", 0x32) in real.denied
    user = _vmm_in(isa, "usr", view)
    real = user.real_view()
    assert ("read", "usr", 0x31) in real.denied and ("write", "usr", 0x32) not in real.denied
    assert kernel.real_view().mapping == view.mapping


def test_an_ordinary_access_behaves_alike_native_and_virtualized(isa):
    view = PageView.of(isa)
    view.deny("read", "usr", 0x31)
    for vmode in ("svc", "usr"):
        vmm = _vmm_in(isa, vmode, view)
        vmm.vstate.set("r", 0x31, 1)
        vmm.sync_real()
        gs = vmm.execute(isa.instruction("ld"), (0, 1))
        native = _machine(isa, vmode, view)
        native.state.set("r", 0x31, 1)
        out = native.execute("ld", (0, 1))
        assert (gs.how == "reflected") == (out.kind != "ok"), vmode  # a guest user fault is the guest's


def test_an_access_as_user_from_the_guest_kernel_diverges(isa):
    """LDRT in miniature: natively the kernel's `as usr` read faults; under the VMM the
    guest kernel runs at real usr with its kernel's permissions, so it does not."""
    view = PageView.of(isa)
    view.deny("read", "usr", 0x31)
    native = _machine(isa, "svc", view)
    native.state.set("r", 0x31, 1)
    assert native.execute("ldt", (0, 1)).cause == "DABT"
    vmm = _vmm_in(isa, "svc", view)
    vmm.vstate.set("r", 0x31, 1)
    vmm.sync_real()
    gs = vmm.execute(isa.instruction("ldt"), (0, 1))
    assert gs.how == "direct"  # no trap: the VMM never learns of it


def test_emulation_uses_the_virtual_view(isa):
    view = PageView.of(isa)
    view.deny("read", "usr", 0x31)
    vmm = _vmm_in(isa, "svc", view)
    assert isinstance(vmm.vport, ViewPort) and vmm.vport.view is view
    vmm.vstate.set("r", 0x31, 1)
    out = vmm.compiled["ldt"].fn(vmm.vstate, vmm.vport, (0, 1))
    assert out.cause == "DABT"


# ---- witnesses -------------------------------------------------------------------


def _witness(view, memory=(), label="v", mode="svc", pre=None):
    from vmcheck.analysis.results import WitnessState

    return Witness(
        "ms",
        {"rd": 0, "rs": 1},
        [WitnessState(label, mode, pre or {"m": 0, "r": [0, 0x31, 0, 0]}, "ok")],
        [],
        list(memory),
        view=list(view),
    )


def test_witness_view_installs_faults_current_being_the_replayed_mode(isa):
    w = _witness(
        [
            {"kind": "read", "priv": "current", "addr": 0x31, "fault": False},
            {"kind": "read", "priv": "usr", "addr": 0x31, "fault": True},
        ]
    )
    view, why = witness_view(isa, w, "svc")
    assert why == "" and view.denied == {("read", "usr", 0x31)}
    # seen from usr, "current" and "usr" are one access: no page map gives both
    view, why = witness_view(isa, w, "usr")
    assert view is None
    assert "cannot be one concrete page map" in why and "F(read, usr, 0x31) faults" in why
    assert "F(read, current, 0x31) does not" in why


def test_witness_view_maps_view_cells_apart_from_the_physical_cells_it_touches(isa):
    mem = [{"space": "mem", "addr": 0x131, "value": 7}, {"space": "phys", "addr": 0x31, "value": 9}]
    view, why = witness_view(isa, _witness([], mem), "svc")
    assert why == ""
    p = view.phys(0x131)
    assert p != 0x31 and 0 <= p < 256  # a fresh unit: the view's 0x131 and phys 0x31 both hold
    alone = [{"space": "mem", "addr": 0x31, "value": 9}, {"space": "mem", "addr": 0x40, "value": 1}]
    view, _ = witness_view(isa, _witness([], alone), "svc")
    assert view.mapping == {}  # nothing else there: the identity
    w = _witness([], [])
    w.states[0].writes = [{"space": "mem", "addr": 0x10, "value": 1}, {"space": "phys", "addr": 0x10, "value": 2}]
    view, _ = witness_view(isa, w, "svc")
    assert view.phys(0x10) != 0x10  # a view write and a physical write are two cells to the engine


def test_replay_of_an_as_user_witness_diverges(isa):
    w = _witness(
        [
            {"kind": "read", "priv": "current", "addr": 0x31, "fault": False},
            {"kind": "read", "priv": "usr", "addr": 0x31, "fault": True},
        ],
        [{"space": "mem", "addr": 0x31, "value": 0x44}],
    )
    r = replay_witness(isa, isa.context("g"), "classic", "ldt", w, "violation")
    assert r.diverged and r.agrees and r.how == "direct"
    # without the view's fault nothing tells them apart
    plain = _witness([], [{"space": "mem", "addr": 0x31, "value": 0x44}])
    r = replay_witness(isa, isa.context("g"), "classic", "ldt", plain, "violation")
    assert not r.diverged and "same result as native" in r.note


def test_replay_says_why_a_contradictory_view_is_not_run(isa):
    w = _witness(
        [
            {"kind": "read", "priv": "current", "addr": 0x31, "fault": False},
            {"kind": "read", "priv": "usr", "addr": 0x31, "fault": True},
        ],
        label="s",
        mode="usr",
        pre={"m": 1, "r": [0, 0x31, 0, 0]},
    )
    r = replay_witness(isa, isa.context("g"), "classic", "ldt", w, "violation", prefer=("s",))
    # the replay starts the guest in the virtual mode mapped to usr that is most privileged (svc)
    assert r.diverged or "page map" in r.note


def test_witness_view_round_trips_through_json():
    w = _witness([{"kind": "write", "priv": "usr", "addr": 3, "fault": True}])
    d = w.to_json()
    assert d["view"] == w.view and Witness.from_json(d).view == w.view
    assert "view" not in _witness([]).to_json()  # a witness that looked at no fault: unchanged


# ---- the bundled specs: the engine's witnesses confirmed -------------------------------


def _confirm(spec: str) -> dict:
    import json

    r = invoke("confirm", spec, "--format", "json", "--quiet")
    assert r.exit_code in (0, 1, 4), r.output
    return json.loads(r.output)


def _replays(report: dict, context: str | None = None) -> dict[str, dict]:
    out = {}
    for ctx in report["contexts"]:
        if context is None or ctx["context"] == context:
            for rep in ctx["replays"]:
                if rep["purpose"] == "violation":
                    out[rep["instruction"]] = rep
    return out


LDRT_FAMILY = ("ldrt", "ldrbt", "ldrht", "strt", "strbt", "strht")


@pytest.mark.slow  # deciding armv7-a cold takes minutes
def test_confirm_armv7a_shows_the_ldrt_family_as_confirmed_divergences():
    report = _confirm("armv7-a")
    reps = _replays(report)
    for name in LDRT_FAMILY:
        assert reps[name]["diverged"] and reps[name]["agrees"], (name, reps[name]["note"])
        assert "not reproduced" not in reps[name]["note"]
    assert report["confirmed"]
    assert not any(set(LDRT_FAMILY) & set(c["unconfirmed"]) for c in report["contexts"])


@pytest.mark.slow  # deciding riscv cold takes minutes
def test_confirm_riscv_shows_the_m_guest_loads_and_stores_confirmed():
    report = _confirm("riscv")
    reps = _replays(report, "m_guest")
    for name in ("lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "sb", "sh", "sw", "sd"):
        assert reps[name]["diverged"] and reps[name]["agrees"], (name, reps[name]["note"])
    assert report["confirmed"]
