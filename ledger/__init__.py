"""exp-ledger: every training run captured, browsable and reproducible.

`import ledger` stays cheap (git hooks import it); the API below loads the store
only when first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.core.version import __version__

__all__ = ["__version__", "current_run", "log_metrics", "log_params", "start_run"]

if TYPE_CHECKING:
    from ledger.api import current_run, log_metrics, log_params, start_run


def __getattr__(name: str) -> Any:
    """Load the API on first use (PEP 562), keeping `import ledger` light."""
    if name in ("current_run", "log_metrics", "log_params", "start_run"):
        from ledger import api

        value = getattr(api, name)
        globals()[name] = value  # later look-ups skip this function: it is on the hot path
        return value
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
