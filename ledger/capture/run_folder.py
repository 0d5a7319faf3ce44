"""Which of the folders made during a run are this run's own, and the params in them.

Frameworks give each run a fresh log folder: Hydra `outputs/<date>/<time>/` (and
`multirun/<date>/<time>/<N>/`), the Lightning-Hydra template's `logs/…/runs/<date>_<time>/`,
Lightning's `lightning_logs/version_N/`. `ledger.capture.outputs` finds the folders the
run made and filled; this module decides which of them are the run's, by what was
written, never by the name's timestamp: two runs started in the same second (side by
side) both find both folders new, and a folder whose config says other values than
this run's command line gave is the other run's, when another folder agrees with it (a
script may save a value it derived from its argument). Identical commands started at
once cannot be told apart; each then keeps both folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ledger.capture.config_params import CONFIG_NAMES, HYDRA_OVERRIDES, is_folder_config, read_config
from ledger.capture.outputs import PRUNED
from ledger.capture.params import load_document, parse_argv_params
from ledger.core.comparable import folder_relative

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from ledger.core.param_values import ParamValue
    from ledger.core.records import Param

WALK_LIMIT = 20_000
"""Entries looked at inside the run's folders when looking for config files."""


@dataclass(frozen=True, slots=True)
class RunFolders:
    """The run's own folders and the params their config files hold."""

    folders: list[str]
    params: list[Param]
    problems: list[str]


def own_folders(
    root: Path, made: Sequence[str], written: Iterable[str], argv_params: Sequence[Param]
) -> RunFolders:
    """Pick this run's folders among those made during it and read their configs.

    Args:
        made: folders the run made and filled (`OutputScan.folders`): nothing in them
            is older than the run.
        written: files the run created or changed, git-visible ones included, for a
            config written into a folder that already held something.
        argv_params: the command line's params, which say which folder is not this run's.
    """
    problems: list[str] = []
    configs = _configs_in(root, made, problems)
    configs += [p for p in written if is_folder_config(p) and not within(p, made)]
    leaves: dict[str, list[Param]] = {}
    for path in dict.fromkeys(configs):
        leaves.setdefault(_leaf(path), []).extend(read_config(root / path, path, problems))
    argv = {p.key: p.value for p in argv_params}
    foreign = {leaf for leaf in leaves if _contradicts(root, leaf, leaves[leaf], argv)}
    if len(foreign) == len(leaves):
        foreign = set()  # none agrees: the script saved values it derived (`lr * world_size`)
    folders: list[str] = []
    for folder in made:
        inside = [leaf for leaf in leaves if within(leaf, [folder])]
        if not any(leaf in foreign for leaf in inside):
            folders.append(folder)
        else:
            folders += [leaf for leaf in inside if leaf not in foreign]
    # The repository itself is never a run's folder, though a config the run wrote there counts.
    folders += [leaf for leaf in leaves if leaf not in foreign | {"."} and not within(leaf, folders)]
    own = {leaf: found for leaf, found in leaves.items() if leaf not in foreign}
    params, differing = _agreed(own)
    problems += [
        f"param {key!r} differs between the run's folders ({', '.join(sorted(where))}); not recorded"
        for key, where in differing.items()
        if key not in argv
    ]
    # A folder inside another of the run's (Hydra's `.hydra/` made in a reused folder) is part of it.
    outer = [f for f in dict.fromkeys(folders) if not any(within(f, [g]) and f != g for g in folders)]
    return RunFolders(sorted(outer), params, problems)


def _configs_in(root: Path, folders: Sequence[str], problems: list[str]) -> list[str]:
    """Config files inside the run's folders (everything there the run wrote)."""
    found: list[str] = []
    seen = 0
    for folder in folders:
        for top, dirs, files in os.walk(root / folder):
            seen += len(dirs) + len(files)
            if seen > WALK_LIMIT:
                problems.append(f"run folder: stopped looking for config files after {WALK_LIMIT} entries")
                return found
            dirs[:] = sorted(d for d in dirs if d not in PRUNED)
            rel = PurePosixPath(os.path.relpath(top, root)).as_posix()
            found += [
                f"{rel}/{name}"
                for name in sorted(CONFIG_NAMES.intersection(files))
                if is_folder_config(f"{rel}/{name}")
            ]
    return found


def _leaf(config: str) -> str:
    """The run folder a config file describes: Hydra's `.hydra/` sits inside it."""
    parent = PurePosixPath(config).parent
    return (parent.parent if parent.name == ".hydra" else parent).as_posix()


def _contradicts(root: Path, leaf: str, params: Sequence[Param], argv: Mapping[str, ParamValue]) -> bool:
    """The folder's config, or Hydra's record of its overrides, holds a value other than
    the one this run's command line set: another run, started alongside, wrote it."""
    said = {p.key: p.value for p in params}
    said |= _hydra_overrides(root / leaf / HYDRA_OVERRIDES)
    return any(key in said and _plain(value) and said[key] != value for key, value in argv.items())


def _hydra_overrides(path: Path) -> dict[str, ParamValue]:
    """`key=value` overrides Hydra applied to a job, typed as the command line's are."""
    try:
        listed = load_document(path.name, path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(listed, list):
        return {}
    return parse_argv_params(["run.py", *(str(item) for item in listed)])


def _plain(value: ParamValue) -> bool:
    """A value a folder's config can contradict: not a sweep (`lr=0.1,0.01`, `range(...)`)."""
    return not isinstance(value, (list, dict)) and not (
        isinstance(value, str) and any(c in value for c in ",()")
    )


def _agreed(leaves: Mapping[str, Sequence[Param]]) -> tuple[list[Param], dict[str, set[str]]]:
    """Params of every folder; a key folders disagree on (a multirun's swept key) is left
    out, and so is one each folder sets to a path of its own (Hydra's resolved
    `${hydra:runtime.output_dir}`): the run's folders are recorded as such."""
    kept: dict[str, tuple[str, Param]] = {}
    differing: dict[str, set[str]] = {}
    own_paths: set[str] = set()
    for leaf, found in leaves.items():
        for param in found:
            first_leaf, first = kept.setdefault(param.key, (leaf, param))
            if _unresolved(param.value):
                continue  # `${paths.data_dir}` left as text in one file says nothing against another's value
            if _unresolved(first.value):
                kept[param.key] = (leaf, param)
            elif first.value != param.value or type(first.value) is not type(param.value):
                if _in_folder(first.value, first_leaf) == _in_folder(param.value, leaf):
                    own_paths.add(param.key)
                else:
                    differing.setdefault(param.key, set()).update({first.source, param.source})
    params = [p for key, (_, p) in kept.items() if key not in differing and key not in own_paths]
    return params, differing


def _in_folder(value: ParamValue, leaf: str) -> ParamValue:
    """A path inside `leaf` as the same path inside any run's folder."""
    if not isinstance(value, str) or leaf == ".":
        return value
    return folder_relative(value, [leaf])


def _unresolved(value: ParamValue) -> bool:
    """An OmegaConf interpolation a file kept as text (Lightning's `hparams.yaml` saves
    `${paths.data_dir}` where Hydra's config resolved it)."""
    return isinstance(value, str) and "${" in value


def within(path: str, folders: Iterable[str]) -> bool:
    """Whether `path` is one of `folders` or inside one."""
    return any(path == f or path.startswith(f"{f}/") for f in folders)
