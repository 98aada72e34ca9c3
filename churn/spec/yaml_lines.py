"""Load YAML while remembering the line every key and item came from.

Spec errors must say ``FILE:LINE``; PyYAML's node tree carries the marks, so we compose it once,
record ``path -> line`` and build plain Python data from the same nodes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class LocatedYaml:
    """Plain data from a YAML document plus the 1-based line of every path in it."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Line of the deepest node along ``loc`` that the user wrote.

        Parts of ``loc`` that are not keys or indexes of the data (pydantic adds union tags such
        as ``'logistic_regression'``) are skipped, so a validation location maps to the closest
        node in the file.
        """
        existing = self._walk(loc, keep_missing=False)
        return self.lines.get(existing)

    def clean_path(self, loc: Sequence[str | int]) -> Path:
        """``loc`` without validator tags; a missing or extra key is kept so messages name it."""
        return self._walk(loc, keep_missing=True)

    def _walk(self, loc: Sequence[str | int], *, keep_missing: bool) -> Path:
        node: Any = self.data
        path: Path = ()
        for part in loc:
            if isinstance(node, dict) and part not in node and part in _tags(node):
                continue  # a discriminated union's tag
            if _has_child(node, part):
                node = node[part]
                path = (*path, part)
            elif keep_missing and isinstance(part, str) and not _is_validator_tag(part):
                path = (*path, part)
                node = None
        return path


def _tags(node: dict[Any, Any]) -> tuple[Any, ...]:
    """Values of the keys the spec's unions discriminate on (``type``; thresholds: ``strategy``)."""
    return (node.get("type"), node.get("strategy"))


def _has_child(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _is_validator_tag(part: str) -> bool:
    """Pydantic location parts that describe the validator, not the data."""
    return part.startswith("function-") or "[" in part


class _Yaml12BoolLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans (YAML 1.2), so ``Yes``/``No`` stay strings.

    Churn data is full of ``Yes``/``No`` labels; YAML 1.1 would silently turn them into booleans.
    """


_Yaml12BoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12BoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_located(text: str) -> LocatedYaml:
    """Parse one YAML document, returning its data and the line of every node."""
    try:
        root = yaml.compose(text, Loader=_Yaml12BoolLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(f"{exc.problem or exc}", line) from exc
    if root is None:
        return LocatedYaml(data=None)
    lines: dict[Path, int] = {}
    _record_lines(root, (), lines)
    data = _Yaml12BoolLoader(text).get_single_data()
    return LocatedYaml(data=data, lines=lines)


def _record_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            _record_lines(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)


def format_path(path: Sequence[str | int]) -> str:
    """``('models', 2, 'params', 'max_depth')`` -> ``models[2].params.max_depth``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"
