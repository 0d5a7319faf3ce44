"""What can be done to runs from any screen that shows them: tag, note, archive, delete,
copy the ID, reproduce. Writes run in thread workers through `ledger` functions,
imported there: they bring SQLAlchemy, which `ledger ui` loads after its first paint."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from rich.text import Text
from textual import getters, work
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ledger.core.errors import LedgerError
from ledger.tui.app_base import AppBase
from ledger.tui.messages import RunsEdited, WorkFailed
from ledger.tui.screens.confirm import ConfirmScreen
from ledger.tui.screens.prompt import NoteScreen, PromptScreen
from ledger.tui.screens.reproduce import ReproduceScreen

if TYPE_CHECKING:
    from ledger.core.ids import RunId
    from ledger.store.engine import Store


def reproduce_available() -> bool:
    """Whether this installation has `ledger reproduce` (the action is absent otherwise)."""
    try:
        return importlib.util.find_spec("ledger.reproduce.command") is not None
    except (ImportError, ValueError):
        return False


class RunActionsScreen(Screen[None]):
    """A screen whose actions apply to `target_ids()`; subclasses say which runs."""

    app = getters.app(AppBase)

    def current_id(self) -> RunId | None:
        """The highlighted run (note, copy and reproduce apply to it)."""
        raise NotImplementedError

    def target_ids(self) -> list[RunId]:
        """The runs tag, archive and delete apply to: the marked ones, else the highlighted one."""
        current = self.current_id()
        return [] if current is None else [current]

    @property
    def store(self) -> Store:
        """The open ledger (screens that show runs only exist once there is one)."""
        return self.app.store

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide reproduce where it does not exist; grey out run actions with no run."""
        if action == "reproduce":
            return reproduce_available() and self.app.services.root is not None
        if action in ("note", "copy_id") and self.current_id() is None:
            return None
        if action in ("tag", "archive", "delete") and not self.target_ids():
            return None
        return True

    # -- actions ---------------------------------------------------------------------

    def action_tag(self) -> None:
        """Add tags (`-tag` removes one) to the target runs."""
        ids = self.target_ids()
        if not ids:
            return
        title = f"Tag {_runs(ids)}"
        help_text = "tags separated by spaces; -tag removes a tag · enter applies · escape cancels"

        def apply(answer: str | None) -> None:
            words = (answer or "").split()
            add = [w for w in words if not w.startswith("-")]
            remove = [w[1:] for w in words if w.startswith("-") and len(w) > 1]
            if add or remove:
                self._write_tags(ids, add, remove)

        self.app.push_screen(PromptScreen(title, help_text, placeholder="baseline best -debug"), apply)

    def action_note(self) -> None:
        """Edit the note of the highlighted run."""
        run_id = self.current_id()
        if run_id is not None:
            self._open_note(run_id)

    def action_archive(self) -> None:
        """Archive the target runs (or restore them, when they are all archived)."""
        ids = self.target_ids()
        if not ids:
            return
        restore = self.all_archived(ids)
        verb = "Restore" if restore else "Archive"
        body = (
            "They come back into the runs list."
            if restore
            else "They leave the runs list (A shows archived runs) and keep everything: nothing is deleted."
        )

        def done(yes: bool | None) -> None:
            if yes:
                self._write_archive(ids, archived=not restore)

        self.app.push_screen(ConfirmScreen(f"{verb} {_runs(ids)}?", body, confirm=verb), done)

    def all_archived(self, ids: list[RunId]) -> bool:
        """Whether every target run is archived (archive then restores)."""
        return False

    def action_delete(self) -> None:
        """Delete the target runs for good, after a confirmation."""
        ids = self.target_ids()
        if not ids:
            return
        body = Text.assemble(
            ("This cannot be undone. ", "bold"),
            f"Params, metrics, series, logs, links and the code snapshot refs of {_runs(ids)} "
            "are removed from the ledger.\n\n",
            "\n".join(ids[:20]),
            "\n…" if len(ids) > 20 else "",
        )

        def done(yes: bool | None) -> None:
            if yes:
                self._delete(ids)

        self.app.push_screen(
            ConfirmScreen(f"Delete {_runs(ids)}?", body, confirm="Delete", danger=True), done
        )

    def action_copy_id(self) -> None:
        """Copy the highlighted run's full ID to the clipboard."""
        run_id = self.current_id()
        if run_id is not None:
            self.app.copy_to_clipboard(run_id)
            self.notify(f"copied {run_id}")

    def action_reproduce(self) -> None:
        """Plan, confirm and run `ledger reproduce` for the highlighted run."""
        run_id = self.current_id()
        if run_id is not None and self.check_action("reproduce", ()):
            self.app.push_screen(ReproduceScreen(run_id, runs_changed=self._reload_all))

    # -- messages --------------------------------------------------------------------

    def on_runs_edited(self, message: RunsEdited) -> None:
        """Say what changed, then let every screen showing runs reload."""
        self.notify(message.summary)
        self._reload_all(deleted=message.deleted)

    def _reload_all(self, *, deleted: tuple[str, ...] = ()) -> None:
        for screen in self.app.screen_stack:
            if isinstance(screen, RunActionsScreen):
                screen.runs_changed(deleted=deleted)

    def runs_changed(self, *, deleted: tuple[str, ...] = ()) -> None:
        """Reload after runs were edited (subclasses reload what they show)."""

    def on_work_failed(self, message: WorkFailed) -> None:
        """A worker's problem, as a notification."""
        self.notify(message.text, severity="error", timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that raised becomes a notification, never a crash."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = str(error) if isinstance(error, LedgerError) else f"{type(error).__name__}: {error}"
            self.notify(text, title="could not finish", severity="error", timeout=8)

    # -- workers ---------------------------------------------------------------------

    @work(thread=True, group="write", exit_on_error=False)
    def _write_tags(self, ids: list[RunId], add: list[str], remove: list[str]) -> None:
        from ledger.store import writes

        if add:
            writes.add_tags(self.store, ids, add)
        if remove:
            writes.remove_tags(self.store, ids, remove)
        change = " ".join([*(f"+{t}" for t in add), *(f"-{t}" for t in remove)])
        self.post_message(RunsEdited(f"tagged {_runs(ids)}: {change}"))

    @work(thread=True, group="write", exit_on_error=False)
    def _write_archive(self, ids: list[RunId], *, archived: bool) -> None:
        from ledger.store import archive

        changed = archive.set_archived(self.store, ids, archived=archived)
        self.post_message(RunsEdited(f"{'archived' if archived else 'restored'} {_runs(changed)}"))

    @work(thread=True, group="write", exit_on_error=False)
    def _delete(self, ids: list[RunId]) -> None:
        from ledger.store import archive

        report = archive.delete_runs(self.store, ids, root=self.app.services.root)
        self.post_message(RunsEdited(f"deleted {_runs(report.runs)}", deleted=tuple(ids)))
        if report.problem:
            self.post_message(WorkFailed(report.problem))

    @work(thread=True, group="write", exit_on_error=False)
    def _open_note(self, run_id: RunId) -> None:
        from ledger.read import queries

        detail = queries.get_run(self.store, run_id)
        title = f"Note on {detail.summary.short_id} {detail.summary.name or ''}".rstrip()
        self.app.call_from_thread(self._edit_note, run_id, title, detail.note or "")

    def _edit_note(self, run_id: RunId, title: str, note: str) -> None:
        def save(text: str | None) -> None:
            if text is not None and text != note:
                self._write_note(run_id, text.strip() or None)

        self.app.push_screen(NoteScreen(title, note), save)

    @work(thread=True, group="write", exit_on_error=False)
    def _write_note(self, run_id: RunId, text: str | None) -> None:
        from ledger.store import writes

        writes.set_note(self.store, run_id, text)
        self.post_message(RunsEdited("note saved" if text else "note removed"))


def _runs(ids: list[RunId] | int) -> str:
    n = ids if isinstance(ids, int) else len(ids)
    return f"{n} run{'s' if n != 1 else ''}" if n != 1 or isinstance(ids, int) else f"run {ids[0][:12]}"
