"""Machines built to break the engine's rules (issue: sound verdicts).

Each is a small spec, decided with the cache off, whose right verdict follows
from docs/model.md §2.3–§2.5; before these rules were fixed the engine said
"holds" for each of them.
"""

from __future__ import annotations

from click.testing import CliRunner
from small_machines import LI_LD_ST, PG_TOY, three_mode_machine

from vmcheck.analysis import NO, YES, check_isa
from vmcheck.cli import main
from vmcheck.spec.load import load_spec


def decide(tmp_path, text: str, name: str = "m"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return check_isa(load_spec(str(p)), jobs=1, use_cache=False)


GATE = """
  gate:
    description: a call gate from user code into the most privileged mode
    semantics: |
      if m == user { m = supervisor
        pc = 64 }
"""


def test_gate_under_ring_compression_is_control_sensitive(tmp_path):
    """Hole 1: {supervisor: kernel, user: user} is one-to-one but not the identity;
    a gate to real supervisor hands the guest the host's mode without a trap."""
    rep = decide(tmp_path, three_mode_machine(modes="{supervisor: kernel, user: user}") + GATE)
    ctx = rep.context("ring_compression")
    gate = ctx.instruction("gate")
    assert gate.classes["control_sensitive"].value == YES
    assert gate.violates["1"].value == YES
    assert gate.violates["3"].value == YES
    assert gate.violates["exact"].value == YES
    assert ctx.theorems["1"].holds is False
    # the innocent instructions stay innocent
    assert ctx.instruction("li").violates["1"].value == NO


def test_own_mode_change_under_identity_map_is_not_control(tmp_path):
    """docs/model.md §2.5's exception stays for modes mapped to themselves: a return
    from supervisor to user under the identity map is the guest's own."""
    ret = """
  ret:
    description: return to user mode from the (virtual) supervisor
    semantics: |
      require m == supervisor else PRIV
      m = user
"""
    rep = decide(tmp_path, three_mode_machine(modes="{supervisor: supervisor, user: user}", where="hv == 0") + ret)
    r = rep.context("ring_compression").instruction("ret")
    assert r.classes["control_sensitive"].value == NO
    assert r.violates["1"].value == NO


def test_theorem3_counts_every_change_out_of_user_mode(tmp_path):
    """Hole 2: under the identity map a gate from user to supervisor is the
    guest's own for Theorem 1, but a hybrid VMM runs only virtual user mode
    directly, so leaving it without a trap violates Theorem 3."""
    gate1 = GATE.replace("gate:", "gate1:")
    setr = """
  setr:
    operands: [rs: reg, rt: reg]
    semantics: |
      require m == supervisor else PRIV
      rl = r[rs]
      rb = r[rt]
"""
    rep = decide(
        tmp_path, three_mode_machine(modes="{supervisor: supervisor, user: user}", where="hv == 0") + gate1 + setr
    )
    ctx = rep.context("ring_compression")
    g = ctx.instruction("gate1")
    assert g.classes["user_sensitive"].value == YES
    assert g.violates["3"].value == YES
    assert ctx.theorems["3"].holds is False


def _pg_toy_without_halt_guard() -> str:
    text = PG_TOY.read_text()
    guarded = "      require m == supervisor else PRIV\n      halt\n"
    assert guarded in text
    return text.replace(guarded, "      halt\n").replace("  halt:\n    labels: [privileged]\n", "  halt:\n")


def test_halt_without_trap_is_control_sensitive(tmp_path):
    """Hole 6: a guest that stops the real machine has taken the processor."""
    rep = decide(tmp_path, _pg_toy_without_halt_guard())
    h = rep.context("classic").instruction("halt")
    assert h.classes["control_sensitive"].value == YES
    assert "stops the machine" in h.classes["control_sensitive"].reason
    assert h.violates["1"].value == YES
    assert rep.context("classic").theorems["1"].holds is False


def test_diff_reports_removed_halt_guard_as_worse(tmp_path):
    new = tmp_path / "new.yaml"
    new.write_text(_pg_toy_without_halt_guard())
    r = CliRunner().invoke(main, ["diff", str(PG_TOY), str(new)], env={"VMCHECK_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 1, r.output
    assert "halt" in r.output


NO_PROTECTION = (
    """
isa: pg-unprotected
word: 32
modes: [supervisor, user]
state:
  pc: {width: 32, role: pc}
  m:  {width: 1, role: mode}
  r:  {count: 4, width: 32}
storage: {size: 4096, unit: 32, translation: none}
traps:
  causes: {PRIV: 1}
  deliver: |
    phys[0] = pc
    m = supervisor
    pc = phys[9]
contexts:
  host: m == supervisor
  guest:
    classic: {modes: {supervisor: user, user: user}}
instructions:
"""
    + LI_LD_ST
    + """  setm:
    operands: [rs: reg]
    semantics: |
      require m == supervisor else PRIV
      m = r[rs][0]
"""
)


def test_machine_without_memory_protection_fails_theorem1(tmp_path):
    """Hole 3: with no relocation-bounds register and no memory cause the guest's
    stores reach the VMM and the trap vectors: the view is physical storage."""
    rep = decide(tmp_path, NO_PROTECTION)
    ctx = rep.context("classic")
    st = ctx.instruction("st")
    assert st.classes["location_sensitive"].value == YES
    assert st.violates["1"].value == YES
    assert ctx.instruction("ld").violates["1"].value == YES
    assert ctx.instruction("li").violates["1"].value == NO
    assert ctx.instruction("setm").violates["1"].value == NO
    assert ctx.theorems["1"].holds is False
    w = st.violates["1"].witness
    assert any(x["space"] == "phys" for s in w.states for x in s.writes)


def test_invariant_broken_by_an_instruction_is_a_spec_error(tmp_path):
    """Hole 5: invariants are claims; an unprivileged `sti` that sets the interrupt
    flag in user mode breaks "user mode runs with interrupts off"."""
    text = three_mode_machine(modes="{supervisor: user, user: user}", extra_state="  ie: {width: 1, role: control}\n")
    text = text.replace("contexts:", 'invariants: ["m == supervisor || ie == 0"]\ncontexts:')
    text += "  sti:\n    semantics: ie = 1\n"
    p = tmp_path / "inv.yaml"
    p.write_text(text)
    r = CliRunner().invoke(main, ["check", str(p)], env={"VMCHECK_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 2, r.output
    assert f"{p}:" in r.output and "sti" in r.output and "breaks the invariant at line" in r.output
    assert "Traceback" not in r.output


def test_invariant_broken_by_trap_delivery_is_a_spec_error(tmp_path):
    text = three_mode_machine(modes="{supervisor: user, user: user}")
    # the delivery loads the new pc from storage: nothing says it is even
    text = text.replace("contexts:", 'invariants: ["pc[0] == 0"]\ncontexts:')
    text = text.replace(
        "    operands: [rd: reg, imm: simm16]\n    semantics: r[rd] = sext(imm, 32)\n",
        "    operands: [rd: reg, imm: simm16]\n    semantics: |\n      r[rd] = sext(imm, 32)\n      pc = pc + 2\n",
    )
    text = text.replace(
        "  ld:\n    operands: [rd: reg, rs: reg]\n    semantics: r[rd] = mem[r[rs]]\n",
        "  ld:\n    operands: [rd: reg, rs: reg]\n    semantics: |\n      r[rd] = mem[r[rs]]\n      pc = pc + 2\n",
    )
    text = text.replace(
        "  st:\n    operands: [rt: reg, rs: reg]\n    semantics: mem[r[rs]] = r[rt]\n",
        "  st:\n    operands: [rt: reg, rs: reg]\n    semantics: |\n      mem[r[rs]] = r[rt]\n      pc = pc + 2\n",
    )
    p = tmp_path / "inv2.yaml"
    p.write_text(text)
    r = CliRunner().invoke(main, ["check", str(p)], env={"VMCHECK_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 2, r.output
    assert "the trap delivery breaks the invariant" in r.output


def test_bundled_small_specs_keep_their_invariants(tmp_path):
    for name in ("pg-toy", "pdp10", "mips32", "powerpc"):
        r = CliRunner().invoke(
            main, ["check", name, "--format", "json"], env={"VMCHECK_CACHE_DIR": str(tmp_path / "c")}
        )
        assert r.exit_code in (0, 1), (name, r.output[-2000:])


def test_labels_mean_popek_goldberg_classes(tmp_path):
    """Hole 7: a privileged instruction that reads the mode is sensitive in
    Popek & Goldberg's sense (its result depends on the mode where it runs),
    although it never runs in the guest context; its label is not contradicted,
    and the per-context facts stay separate."""
    text = three_mode_machine(modes="{supervisor: user, kernel: user, user: user}")
    text += """  rdm:
    labels: [privileged, sensitive]
    operands: [rd: reg]
    semantics: |
      require m != user else PRIV
      r[rd] = zext(m, 32)
  li2:
    labels: [innocuous]
    operands: [rd: reg]
    semantics: r[rd] = 2
"""
    rep = decide(tmp_path, text)
    assert rep.labels == []
    r = rep.context("ring_compression").instruction("rdm")
    assert r.classes["pg_sensitive"].value == YES
    assert r.classes["pg_mode_sensitive"].value == YES
    assert r.classes["sensitive"].value == NO  # in the context: it never runs there
    assert r.violates["1"].value == NO
    # a label that the semantics contradict is still reported
    text2 = text.replace("labels: [innocuous]", "labels: [sensitive]")
    rep2 = decide(tmp_path, text2, "m2")
    assert [(f.instruction, f.label, f.derived) for f in rep2.labels] == [("li2", "sensitive", "sensitive: no")]


def test_witness_text_names_its_class_and_the_difference(tmp_path):
    """Issue 12 item 12: each witness says which class it shows, and a physical
    write in a location pair says what makes equal-looking writes differ."""
    text = NO_PROTECTION.replace(
        "storage: {size: 4096, unit: 32, translation: none}", "storage: {size: 4096, unit: 32, translation: none}\n"
    ).replace("  r:  {count: 4, width: 32}", "  r:  {count: 4, width: 32}\n  cfg: {width: 8, role: control}")
    rep = decide(tmp_path, text)
    st = rep.context("classic").instruction("st")
    reason = st.classes["location_sensitive"].reason
    assert reason.startswith("location sensitive: ")
    # the two sides may write the same cell: that *is* the difference, said in words
    assert "the same cells" in reason and "physical storage does not move with the state" in reason
    rep2 = decide(tmp_path, three_mode_machine(modes="{supervisor: kernel, user: user}") + GATE, "g")
    gate = rep2.context("ring_compression").instruction("gate")
    assert gate.classes["control_sensitive"].reason.startswith("control sensitive: ")
