"""The git hooks exp-ledger installs: one definition for `ledger init`, the manifest and docs."""

from __future__ import annotations

from dataclasses import dataclass

PYTHON_CONFIG_KEY = "ledger.python"
"""Local git config key holding the interpreter that ran `ledger init`.

A commit made from an IDE or a shell without the virtualenv still finds exp-ledger
through it (pre-commit's own hook script does the same with INSTALL_PYTHON).
"""

SCRIPT_CONFIG_KEY = "ledger.hookscript"
"""Local git config key holding the path of the installed `hook.sh` (the shell fast path)."""

ENTRY = (
    'sh -c \'s=$(git config --get ledger.hookscript) && [ -f "$s" ] && exec sh "$s" "$@"; '
    'exec "$(git config --get ledger.python || command -v python3 || echo python)" '
    '-m ledger.hooks "$@"\' ledger-hook'
)
"""The `language: system` entry: the recorded `hook.sh`, else Python (the recorded
interpreter, else python3 on PATH): a teammate's clone without `ledger init` still works."""


@dataclass(frozen=True, slots=True)
class HookSpec:
    """One hook as pre-commit knows it."""

    id: str
    name: str
    stage: str
    """The git hook type (and pre-commit stage) it runs at."""
    command: str
    """The `python -m ledger.hooks` sub-command."""
    description: str
    default: bool = True
    """Installed by a plain `ledger init`."""
    pass_filenames: bool = False
    verbose: bool = False
    """Show the hook's output even when it passes (pre-commit hides it otherwise): warnings."""

    @property
    def entry(self) -> str:
        """The full command for a `repo: local` hook."""
        return f"{ENTRY} {self.command}"


HOOKS = (
    HookSpec(
        id="ledger-post-commit",
        name="exp-ledger: link runs to the commit",
        stage="post-commit",
        command="post-commit",
        description="Link runs whose code the commit holds; record a commit that carries results as a run.",
    ),
    HookSpec(
        id="ledger-prepare-commit-msg",
        name="exp-ledger: Ledger-Run trailer",
        stage="prepare-commit-msg",
        command="prepare-commit-msg",
        description="Add a 'Ledger-Run: <id>' trailer naming the runs the commit will link.",
        pass_filenames=True,
    ),
    HookSpec(
        id="ledger-post-rewrite",
        name="exp-ledger: follow amend and rebase",
        stage="post-rewrite",
        command="post-rewrite",
        description="Move links and commit-captured runs to the rewritten commits.",
    ),
    HookSpec(
        id="ledger-check-results",
        name="exp-ledger: results match the code",
        stage="pre-commit",
        command="check-results",
        description="Warn (or block) when staged results come from a run of different code.",
        verbose=True,
        # Opt-in (`ledger init --stages pre-commit`): each stage costs pre-commit's own
        # start-up on every commit, and this one only warns.
        default=False,
    ),
)
