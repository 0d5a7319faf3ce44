"""7. Storage: database bytes per metric point, measured the same way on every system.

A compact copy of the database after the logging workload (`VACUUM INTO`) is
compared with a compact copy of the same database with the points deleted; the
difference over the number of points is what a point costs on disk, pages and
indexes included. The run, its params and its final values stay in both copies.
"""

from __future__ import annotations

import shutil
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

POINT_TABLES = {
    "exp-ledger": "DELETE FROM metric_chunks",
    "MLflow": "DELETE FROM metrics",
    "sqlite3": "DELETE FROM points",
}
"""How to remove every metric point (not the final values) from each system's database."""


def bytes_per_point(system: str, db: Path, points: int, scratch: Path) -> tuple[int, int, float]:
    """(compact size, size without points, bytes per point)."""
    full, empty, copy = (
        scratch / f"{db.stem}-full.db",
        scratch / f"{db.stem}-empty.db",
        scratch / f"{db.stem}-copy.db",
    )
    for path in (full, empty, copy):
        path.unlink(missing_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute("VACUUM INTO ?", (str(full),))
    conn.close()
    shutil.copyfile(full, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute(POINT_TABLES[system])
    conn.close()
    with sqlite3.connect(copy) as conn:
        conn.execute("VACUUM INTO ?", (str(empty),))
    conn.close()
    size, without = full.stat().st_size, empty.stat().st_size
    return size, without, (size - without) / points


def copy_db(src: Path, dst: Path) -> Path:
    """Copy an SQLite file with its WAL (if one was left), replacing `dst`."""
    for suffix in ("", "-wal", "-shm"):
        target = dst.with_name(dst.name + suffix)
        target.unlink(missing_ok=True)
        source = src.with_name(src.name + suffix)
        if suffix != "-shm" and source.exists():
            shutil.copyfile(source, target)
    return dst
