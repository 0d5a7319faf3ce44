"""Long text (logs, patches) shown lazily, with a search box that keeps matching lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.highlighter import Highlighter
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Log, Static

from ledger.tui.type_ahead import open_box

if TYPE_CHECKING:
    from rich.text import Text
    from textual.app import ComposeResult

MAX_MATCHES = 50_000
"""Matching lines shown at most (the count above says how many there were)."""


class LineHighlighter(Highlighter):
    """Colours diff lines (when `diff`) and the search term, with styles set by the owner."""

    def __init__(self, *, diff: bool) -> None:
        self.diff = diff
        self.term = ""
        self.styles: dict[str, Style] = {}

    def highlight(self, text: Text) -> None:
        """Stylise one line in place."""
        plain = text.plain
        if self.diff:
            body = plain.split("│ ", 1)[-1] if "│ " in plain[:10] else plain
            kind = _diff_kind(body)
            if kind:
                text.stylize(self.styles.get(kind, Style()))
        if self.term:
            lowered, term = plain.lower(), self.term.lower()
            start = lowered.find(term)
            while start >= 0:
                text.stylize(self.styles.get("match", Style(reverse=True)), start, start + len(term))
                start = lowered.find(term, start + len(term))


class TextView(Vertical):
    """A search box over a read-only text; the text itself renders only where visible."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", show=False, priority=True),
    ]

    def __init__(self, *, diff: bool = False, placeholder: str = "search", id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._lines: list[str] = []
        self._highlighter = LineHighlighter(diff=diff)
        self._placeholder = placeholder
        self._status = ""

    def compose(self) -> ComposeResult:
        """Search box, status line, text."""
        yield Input(placeholder=self._placeholder, classes="text-search")
        yield Static("", classes="text-status", markup=False)
        log = Log(highlight=True, auto_scroll=False, classes="text-body")
        log.highlighter = self._highlighter
        yield log

    def set_highlight_styles(self, styles: dict[str, Style]) -> None:
        """Styles for `added`, `removed`, `hunk`, `header` (diffs) and `match`."""
        self._highlighter.styles = styles

    def set_text(self, text: str, *, status: str = "") -> None:
        """Show `text` (replacing any previous one), keeping the current search."""
        self._lines = text.splitlines()
        self._status = status
        self._show()

    def append_lines(self, lines: list[str]) -> None:
        """Add lines at the end (streamed output) and follow them."""
        start = len(self._lines)
        self._lines.extend(lines)
        log = self.query_one(Log)
        term = self._highlighter.term.lower()
        if term:
            log.write_lines(self._numbered(lines, start, term))
        else:
            log.write_lines(lines)
            self.query_one(".text-status", Static).update(f"{len(self._lines):,} lines")
        log.scroll_end(animate=False)

    def show_problem(self, text: str) -> None:
        """Show why there is nothing to show."""
        self._lines = []
        self.query_one(Log).clear()
        self.query_one(".text-status", Static).update(text)
        self.set_class(True, "-problem")

    @property
    def status(self) -> str:
        """The line above the text (counts, or the problem)."""
        return str(self.query_one(".text-status", Static).content)

    def on_input_changed(self, event: Input.Changed) -> None:
        """Keep only the lines holding the search term."""
        event.stop()
        self._highlighter.term = event.value.strip()
        self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves into the text."""
        event.stop()
        self.query_one(Log).focus()

    def action_search(self) -> None:
        """Focus the search box (what is typed right behind the `/` lands in it)."""
        open_box(self.screen, self.query_one(Input))

    def _show(self) -> None:
        self.set_class(False, "-problem")
        log = self.query_one(Log)
        log.clear()
        term = self._highlighter.term.lower()
        if not term:
            log.write_lines(self._lines)
            status = self._status or f"{len(self._lines):,} lines"
        else:
            hits = self._numbered(self._lines, 0, term)
            log.write_lines(hits[:MAX_MATCHES])
            status = f"{len(hits):,} of {len(self._lines):,} lines match {self._highlighter.term!r}"
        log.scroll_home(animate=False)
        self.query_one(".text-status", Static).update(status)

    def _numbered(self, lines: list[str], start: int, term: str) -> list[str]:
        width = max(4, len(str(len(self._lines))))
        return [f"{n:>{width}} │ {line}" for n, line in enumerate(lines, start + 1) if term in line.lower()]


def _diff_kind(line: str) -> str | None:
    if line.startswith(("diff --git", "index ", "+++ ", "--- ", "new file", "deleted file", "similarity")):
        return "header"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "added"
    if line.startswith("-"):
        return "removed"
    return None
