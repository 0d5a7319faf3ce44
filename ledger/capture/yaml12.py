"""Load YAML the way DVC does (YAML 1.2), with PyYAML's fast C parser.

PyYAML implements YAML 1.1, where `1e-3` is a string, `010` is octal, `1:30` is 90
and `yes` is true. DVC (ruamel.yaml) reads YAML 1.2, where none of that holds; a
params file must mean the same thing to both.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Yaml12Loader(_Base):  # type: ignore[misc]
    """A safe loader whose plain scalars follow the YAML 1.2 core schema."""


Yaml12Loader.yaml_implicit_resolvers = {}
_RESOLVERS = (
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", "~nN"),
)
for _tag, _pattern, _first in _RESOLVERS:
    # An empty scalar (`key:`) is looked up under "" (PyYAML's resolver convention).
    _starts = [*_first, ""] if _tag.endswith(":null") else list(_first)
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), _starts)


def _int(loader: Any, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)  # YAML 1.2: leading zeros are decimal, not octal


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _int)


def load(raw: bytes | str) -> Any:
    """Parse one YAML document.

    Raises:
        yaml.YAMLError: on malformed input.
    """
    return yaml.load(raw, Loader=Yaml12Loader)  # noqa: S506 - a safe loader
