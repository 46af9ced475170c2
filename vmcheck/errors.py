"""The exception hierarchy and source locations.

Two families, kept apart on purpose (see docs/architecture.md, "Conventions"): `UserError` is the user's
fault (a bad spec, program or call) and ends the run with exit code 2 and a
message that points at the offending text; `InternalError` is ours and ends
it with exit code 70 (sysexits' EX_SOFTWARE) and a request to report it.
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

    def render(self, sources: dict[str, str] | SourceCache | None = None) -> str:
        """`FILE:LINE:COL: error: MESSAGE`, then the source line and a caret."""
        where = f"{self.span}: " if self.span else ""
        out = [f"{where}error: {self.message}"]
        cache = sources if isinstance(sources, SourceCache) else SourceCache(sources)
        span = self.span
        text = cache.line(span) if span is not None else None
        if span is not None and text is not None:
            text = text.rstrip("\n").expandtabs(1)
            col = max(1, span.col)
            width = 1
            if span.end_line == span.line and span.end_col:
                width = max(1, span.end_col - span.col)
            # A long line is shown as a window around the column, so one error
            # never prints a 10,000-character line.
            start = max(0, col - 1 - SHOWN_CHARS // 2) if len(text) > SHOWN_CHARS else 0
            shown = text[start : start + SHOWN_CHARS]
            lead, tail = ("..." if start else ""), ("..." if start + SHOWN_CHARS < len(text) else "")
            out.append("    " + lead + shown + tail)
            width = min(width, SHOWN_CHARS - (col - 1 - start))
            out.append("    " + " " * (len(lead) + col - 1 - start) + "^" * max(1, width))
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


# Characters of a source line shown under an error.
SHOWN_CHARS = 160


class SourceCache:
    """Source lines by file, each file read and split once, however many
    diagnostics point into it (20,000 errors must not read a file 20,000 times)."""

    def __init__(self, sources: dict[str, str] | None = None):
        self._texts = dict(sources or {})
        self._lines: dict[str, list[str] | None] = {}

    def line(self, span: Span) -> str | None:
        if span.line < 1:
            return None
        if span.file not in self._lines:
            self._lines[span.file] = self._read(span.file)
        lines = self._lines[span.file]
        if lines is None or span.line > len(lines):
            return None
        return lines[span.line - 1]

    def _read(self, file: str) -> list[str] | None:
        text = self._texts.get(file)
        if text is None:
            try:
                with open(file, "rb") as f:
                    data = f.read(8 << 20)  # beyond the file-size limit: not a spec
            except OSError:
                return None
            text = data.decode("utf-8", errors="replace")
        return text.splitlines()


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
        cache = SourceCache(sources)
        return "\n".join(d.render(cache) for d in self.diagnostics)


class SpecError(UserError):
    """A spec (or program) that cannot be loaded."""


class InternalError(VmcheckError):
    """A bug in vmcheck: exit code 70 (EX_SOFTWARE; 3 means "undecided")."""

    exit_code = 70


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
