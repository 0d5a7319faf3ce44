"""Merge exp-ledger's hooks into a `.pre-commit-config.yaml` without reformatting it.

ruamel.yaml's round trip alone is not byte-exact on real configs (mixed indentation,
flow lists, document markers), so the change is made with ruamel, turned into a line
diff against the original text, and applied to it; the result is checked to mean the
same YAML, so a config is never silently damaged.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.errors import InstallError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from ledger.setup.hook_specs import HookSpec

CONFIG_NAME = ".pre-commit-config.yaml"
HOOK_TYPES_KEY = "default_install_hook_types"
_STYLES = [(2, 4, 2)] + [(m, s, o) for m in (2, 4) for s in (2, 4, 6, 8) for o in range(0, s - 1, 2)]
"""(mapping, sequence, offset) indents tried to reproduce an existing file's layout."""


@dataclass(frozen=True, slots=True)
class ConfigPlan:
    """What merging our hooks into a `.pre-commit-config.yaml` does to it."""

    text: str
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    hook_types_added: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the file must be written."""
        return bool(self.added or self.updated or self.hook_types_added)


def merge_config(text: str | None, hooks: Sequence[HookSpec]) -> str:
    """`text` (a `.pre-commit-config.yaml`, or None) with our hooks merged in."""
    return plan_config(text, hooks).text


def plan_config(text: str | None, hooks: Sequence[HookSpec]) -> ConfigPlan:
    """Merge our hooks into a config, changing nothing else in it.

    Hooks already present (by id, in a `repo: local` entry) are updated in place,
    missing ones are added to that entry or to a new `- repo: local` entry, and their
    hook types are added to `default_install_hook_types`. ruamel.yaml does the merge;
    its changes are then applied as a line patch to the original text, because its
    round trip does not keep every layout (mixed indents, multi-line flow lists).

    Raises:
        InstallError: the text is not YAML, or not a pre-commit config.
    """
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    crlf = text is not None and "\r\n" in text
    source = (text or "").replace("\r\n", "\n")
    if source and not source.endswith("\n"):
        source += "\n"
    try:
        data = _yaml((2, 4, 2)).load(source)
    except YAMLError as e:
        raise InstallError(f"{CONFIG_NAME} is not valid YAML: {' '.join(str(e).split())}") from e
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise InstallError(
            f"{CONFIG_NAME} is not a mapping of settings",
            hint="`pre-commit migrate-config` updates an old list-style config",
        )
    fresh = not data
    if fresh:  # no settings yet (maybe comments, maybe `{}`): write ours in block style
        data = CommentedMap()
        source = "".join(line for line in source.splitlines(keepends=True) if line.lstrip().startswith("#"))
    style = (2, 4, 2) if fresh else _layout(source, data)
    before = _dump(data, style)
    plan = _merge(data, hooks)
    if not plan.changed:
        return ConfigPlan(text=text or "")
    after = _dump(data, style)
    if fresh:
        merged = source + after
    elif before == source:
        merged = after
    else:
        merged = _patch(source, before, after)
        if not _same_yaml(merged, after):
            raise InstallError(
                f"cannot add the hooks to {CONFIG_NAME} without rewriting it",
                hint=f"merge this into it by hand:\n{merge_config(None, hooks)}",
            )
    return ConfigPlan(
        text=merged.replace("\n", "\r\n") if crlf else merged,
        added=plan.added,
        updated=plan.updated,
        hook_types_added=plan.hook_types_added,
    )


def _merge(data: CommentedMap, hooks: Sequence[HookSpec]) -> ConfigPlan:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    had_repos = bool(data.get("repos"))
    if data.get("repos") is None:
        data["repos"] = CommentedSeq()
    repos = data["repos"]
    if not isinstance(repos, list):
        raise InstallError(f"`repos` in {CONFIG_NAME} is not a list")
    if not repos and isinstance(repos, CommentedSeq):
        repos.fa.set_block_style()
    entries = [r for r in repos if isinstance(r, CommentedMap) and isinstance(r.get("hooks"), list)]
    local = [r for r in entries if r.get("repo") == "local"]
    # Our hooks used through our repository's manifest (`repo: <url>`) are left as they are.
    remote = {
        h.get("id") for r in entries if r.get("repo") != "local" for h in r["hooks"] if isinstance(h, dict)
    }
    ours = {h.id for h in hooks}
    added: list[str] = []
    updated: list[str] = []
    missing: list[HookSpec] = []
    for spec in hooks:
        found = [
            h for r in local for h in r["hooks"] if isinstance(h, CommentedMap) and h.get("id") == spec.id
        ]
        for hook in found:
            if _update(hook, _hook_fields(spec)) and spec.id not in updated:
                updated.append(spec.id)
        if not found and spec.id not in remote:
            missing.append(spec)
    if missing:
        home = next(
            (r for r in local if any(isinstance(h, dict) and h.get("id") in ours for h in r["hooks"])), None
        )
        # Comments after the list we append to belong after our new items.
        comments = _detach_trailing_comments(repos if home is None else home["hooks"])
        if home is None:
            home = CommentedMap([("repo", "local"), ("hooks", CommentedSeq())])
            repos.append(home)
        if not home["hooks"] and isinstance(home["hooks"], CommentedSeq):
            home["hooks"].fa.set_block_style()
        for spec in missing:
            home["hooks"].append(CommentedMap(_hook_fields(spec)))
            added.append(spec.id)
        _attach_trailing_comments(home["hooks"][-1], comments)
    types = data.get(HOOK_TYPES_KEY)
    if types is None:
        # pre-commit's default is [pre-commit]; keep installing it for the other hooks.
        types = _flow(["pre-commit"] if had_repos else [])
    elif not isinstance(types, list):
        raise InstallError(f"`{HOOK_TYPES_KEY}` in {CONFIG_NAME} is not a list")
    new_types = [t for t in dict.fromkeys(h.stage for h in hooks) if t not in types]
    if new_types:
        types.extend(new_types)
        if HOOK_TYPES_KEY not in data:
            data.insert(list(data).index("repos"), HOOK_TYPES_KEY, types)
    return ConfigPlan(text="", added=tuple(added), updated=tuple(updated), hook_types_added=tuple(new_types))


def _hook_fields(spec: HookSpec) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": spec.id,
        "name": spec.name,
        "entry": spec.entry,
        "language": "system",
        "stages": _flow([spec.stage]),
        "always_run": True,
        "pass_filenames": spec.pass_filenames,
    }
    if spec.verbose:
        fields["verbose"] = True
    return fields


def _update(hook: CommentedMap, fields: dict[str, object]) -> bool:
    """Set our fields on a hook already in the config, keeping the user's others."""
    changes = {k: v for k, v in fields.items() if hook.get(k) != v}
    comments = _detach_trailing_comments(hook) if set(changes) - set(hook) else ""
    hook.update(changes)
    _attach_trailing_comments(hook, comments)
    return bool(changes)


def _flow(items: list[str]) -> list[str]:
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _detach_trailing_comments(node: object) -> str:
    """Take the comment lines after a node's last scalar, to put after a new last item.

    ruamel.yaml attaches them to the deepest last child (or to a collection's end),
    so an appended item would land between that child and, say, a comment
    introducing the next top-level key. An end-of-line comment stays where it is.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    moved: list[str] = []
    first = True
    while isinstance(node, CommentedMap | CommentedSeq) and node:
        if not first:  # comments at the end of the node we append to stay after our items
            moved[:0] = [" " * t.column + t.value for t in node.ca.end]
            node.ca.end = []
        first = False
        key: object = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        slot = node.ca.items.get(key) or []
        pos = 2 if isinstance(node, CommentedMap) else 0
        token = slot[pos] if len(slot) > pos else None
        if token is not None and "#" in token.value.partition("\n")[2]:
            line, _, rest = token.value.partition("\n")
            token.value = f"{line}\n"
            moved.insert(0, rest)
        node = node[key]
    return "".join(moved)


def _attach_trailing_comments(node: CommentedMap, comments: str) -> None:
    """Put comment lines taken by `_detach_trailing_comments` after a mapping's last value."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    if comments:
        token = CommentToken(f"\n{comments}", CommentMark(0), None)
        node.ca.items[list(node)[-1]] = [None, None, token, None]


def _same_yaml(text: str, expected: str) -> bool:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    safe = YAML(typ="safe", pure=True)
    try:
        return bool(safe.load(text) == safe.load(expected))
    except YAMLError:
        return False


def _yaml(style: tuple[int, int, int]) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(data: object, style: tuple[int, int, int]) -> str:
    import io

    out = io.StringIO()
    _yaml(style).dump(data, out)
    return out.getvalue()


def _layout(source: str, data: object) -> tuple[int, int, int]:
    """The indentation that makes ruamel.yaml reproduce most of the file's lines."""
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence, offset = load_yaml_guess_indent(source)
    guesses = [(m, sequence, offset) for m in (2, 4) if sequence and offset is not None]
    lines = source.splitlines(keepends=True)
    best, best_score = _STYLES[0], -1.0
    for style in dict.fromkeys([*guesses, *_STYLES]):
        out = _dump(data, style)
        if out == source:
            return style
        score = difflib.SequenceMatcher(None, out.splitlines(keepends=True), lines, autojunk=False).ratio()
        if score > best_score:
            best, best_score = style, score
    return best


def _patch(source: str, before: str, after: str) -> str:
    """Apply the line changes from `before` to `after` onto `source`.

    `before` is ruamel.yaml's rendering of `source`; where the two differ (layout
    ruamel does not keep), `source`'s own lines are kept unless the change touches them.
    """
    text = source.splitlines(keepends=True)
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    where: dict[int, int] = {}
    for a, b, size in difflib.SequenceMatcher(None, old, text, autojunk=False).get_matching_blocks():
        where.update((a + k, b + k) for k in range(size))
    ops = [
        op[1:]
        for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        if op[0] != "equal"
    ]
    hunks: list[tuple[int, int, int, int]] = []
    k = 0
    while k < len(ops):
        i1, i2, j1, j2 = ops[k]
        k += 1
        if i1 == i2 and (i2 in where or i2 == len(old)):
            hunks.append((i1, i2, j1, j2))  # an insertion goes next to a kept line
            continue
        while i1 > 0 and i1 - 1 not in where:
            if hunks and hunks[-1][1] == i1:
                i1, _, j1, _ = hunks.pop()
            else:
                i1, j1 = i1 - 1, j1 - 1
        while i2 < len(old) and i2 not in where:
            if k < len(ops) and ops[k][0] == i2:
                _, i2, _, j2 = ops[k]
                k += 1
            else:
                i2, j2 = i2 + 1, j2 + 1
        hunks.append((i1, i2, j1, j2))
    for i1, i2, j1, j2 in reversed(hunks):
        start = 0 if i1 == 0 else where.get(i1 - 1, len(text) - 1) + 1
        end = len(text) if i2 == len(old) else where[i2]
        if i1 == i2:  # before the next kept line; at the end, after the last one (not `...`)
            start = end if i2 < len(old) else start
            end = start
        text[start:end] = new[j1:j2]
    return "".join(text)
