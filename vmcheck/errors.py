"""The exception hierarchy and source locations.

Two families, kept apart on purpose (see docs/architecture.md, "Conventions"): `UserError` is the user's
fault (a bad spec, program or call) and ends the run with exit code 2 and a
message that points at the offending text; `InternalError` is ours and ends
it with exit code 3 and a request to report it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """Where a piece of user text came from: 1-based line and column."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    span: Span | None
    message: str
    hint: str | None = None

    def render(self, sources: dict[str, str] | None = None) -> str:
        """`FILE:LINE:COL: error: MESSAGE`, then the source line and a caret."""
        where = f"{self.span}: " if self.span else ""
        out = [f"{where}error: {self.message}"]
        text = _source_line(self.span, sources)
        if text is not None:
            out.append("    " + text.rstrip("\n").expandtabs(1))
            width = 1
            if self.span.end_line == self.span.line and self.span.end_col:
                width = max(1, self.span.end_col - self.span.col)
            out.append("    " + " " * (self.span.col - 1) + "^" * width)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


def _source_line(span: Span | None, sources: dict[str, str] | None) -> str | None:
    if span is None or span.line < 1:
        return None
    text = (sources or {}).get(span.file)
    if text is None:
        try:
            with open(span.file, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            return None
    lines = text.splitlines()
    return lines[span.line - 1] if span.line <= len(lines) else None


class VmcheckError(Exception):
    """Base of everything vmcheck raises on purpose."""


class UserError(VmcheckError):
    """Bad input: exit code 2. Carries one or more diagnostics."""

    exit_code = 2

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(None, diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.message for d in self.diagnostics))

    def render(self, sources: dict[str, str] | None = None) -> str:
        return "\n".join(d.render(sources) for d in self.diagnostics)


class SpecError(UserError):
    """A spec (or program) that cannot be loaded."""


class InternalError(VmcheckError):
    """A bug in vmcheck: exit code 3."""

    exit_code = 3


@dataclass
class Collector:
    """Gathers independent errors so that one run reports all of them."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span | None, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(span, message, hint))

    def raise_if_any(self) -> None:
        if self.diagnostics:
            uniq = list(dict.fromkeys(self.diagnostics))
            uniq.sort(key=lambda d: (d.span.file, d.span.line, d.span.col) if d.span else ("", 0, 0))
            raise SpecError(uniq)
