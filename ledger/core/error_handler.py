"""One handler for every entry point: user errors exit 1, Ctrl-C 130, crashes 3 with a log."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Iterator


class Exit(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Carries the exit code out of the handled block."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@contextlib.contextmanager
def error_handler(prog: str = "ledger") -> Iterator[None]:
    """Turn any failure into one line on stderr and a distinct exit code.

    `LedgerError` -> its message (and hint), exit 1; Ctrl-C -> exit 130; anything
    else is our bug -> exit 3, with the traceback saved to a crash log whose path is
    printed (pre-commit does the same), never dumped on the user.
    """
    try:
        yield
    except LedgerError as e:
        message = f"{prog}: error: {e.message}"
        if e.hint:
            message += f"\n{prog}: hint: {e.hint}"
        print(message, file=sys.stderr)
        raise Exit(1) from None
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        raise Exit(130) from None
    except BrokenPipeError:
        # `ledger list | head`: the reader left; nothing is wrong.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise Exit(0) from None
    except Exception as e:  # noqa: BLE001 - the last line of defence
        path = _write_crash_log(e)
        print(
            f"{prog}: unexpected error: {type(e).__name__}: {e}\n{prog}: a crash log is at {path}",
            file=sys.stderr,
        )
        raise Exit(3) from None


def _write_crash_log(error: Exception) -> Path:
    # Imported only on a crash: every command starts through this module.
    import platform
    import tempfile
    import traceback

    from ledger.core.version import __version__

    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "exp-ledger"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    body = [
        f"exp-ledger {__version__}",
        f"python {sys.version.split()[0]} on {platform.platform()}",
        f"argv: {sys.argv}",
        "",
        *traceback.format_exception(error),
    ]
    path.write_text("\n".join(body))
    return path
