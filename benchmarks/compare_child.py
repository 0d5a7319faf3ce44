"""One measurement in a fresh interpreter: `compare_child.py CASE SPEC_JSON OUT_JSON`.

`compare.py` starts one of these per case and repetition, so no system pays for
another's imports, caches or garbage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import compare_reads
import compare_writes

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the case and write its result as JSON."""
    case, spec, out = sys.argv[1:] if argv is None else argv
    cases = {**compare_writes.CASES, "reads": compare_reads.reads}
    result = cases[case](json.loads(spec))
    Path(out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
