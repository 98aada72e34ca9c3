"""Load YAML while remembering the line every key and item came from.

Spec errors must say ``FILE:LINE``; PyYAML's node tree carries the marks, so we compose it once,
record ``path -> line`` and build plain Python data from the same nodes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

NodePath = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class LocatedYaml:
    """Plain data from a YAML document plus the 1-based line of every path in it."""

    data: Any
    lines: dict[NodePath, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Line of the deepest node along ``loc`` that the user wrote.

        Parts of ``loc`` that are not keys or indexes of the data (pydantic adds union tags such
        as ``'logistic_regression'``) are skipped, so a validation location maps to the closest
        node in the file.
        """
        existing = self._walk(loc, keep_missing=False)
        return self.lines.get(existing)

    def clean_path(self, loc: Sequence[str | int]) -> NodePath:
        """``loc`` without validator tags; a missing or extra key is kept so messages name it."""
        return self._walk(loc, keep_missing=True)

    def _walk(self, loc: Sequence[str | int], *, keep_missing: bool) -> NodePath:
        node: Any = self.data
        path: NodePath = ()
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
    """Values of the keys the spec's unions discriminate on (``type``; thresholds: ``strategy``;
    the target: ``kind``, ``classification`` when absent)."""
    return (node.get("type"), node.get("strategy"), node.get("kind", "classification"))


def _has_child(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _is_validator_tag(part: str) -> bool:
    """Pydantic location parts that describe the validator, not the data."""
    return part.startswith("function-") or "[" in part


MAX_ALIASES: Final = 100
"""At most this many aliases (``*name``) in one spec."""
MAX_DEPTH: Final = 64
"""At most this many levels of nested mappings and lists."""
MAX_NODES: Final = 100_000
"""At most this many values once every alias is expanded (a "billion laughs" file is refused)."""


class YamlLimitError(YamlSyntaxError):
    """The document is over one of the loader's bounds (aliases, depth, expanded size)."""


class YamlDuplicateKeys(YamlSyntaxError):
    """Some mapping repeats a key; ``duplicates`` holds ``(path, first line, repeated line)``."""

    def __init__(self, duplicates: list[tuple[NodePath, int, int]]) -> None:
        path, first, again = duplicates[0]
        super().__init__(f"duplicate key {format_path(path)} (first at line {first})", again)
        self.duplicates = duplicates


class _Yaml12BoolLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans (YAML 1.2), so ``Yes``/``No`` stay strings.

    Churn data is full of ``Yes``/``No`` labels; YAML 1.1 would silently turn them into booleans.
    Composing is bounded: at most :data:`MAX_ALIASES` aliases, :data:`MAX_DEPTH` levels and
    :data:`MAX_NODES` values with every alias expanded (sizes are added up per node as it is
    composed, so a bomb is refused without ever being expanded); an alias of its own ancestor
    (a recursive document) is refused too.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, refusing the document as soon as it is over a bound."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _limit(f"more than {MAX_ALIASES} aliases (*name)", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _limit(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        node = super().compose_node(parent, index)
        assert node is not None  # only None at the end of the stream, never inside it
        self._depth -= 1
        size = self._sizes.get(id(node))
        if size is None and isinstance(event, yaml.AliasEvent):
            raise _limit(f"alias *{event.anchor} refers to its own parent", event.start_mark)
        if size is None:
            size = 1 + sum(self._sizes[id(child)] for child in _children(node))
            self._sizes[id(node)] = size
        if size > MAX_NODES:
            raise _limit(
                f"more than {MAX_NODES:,} values once aliases are expanded", event.start_mark
            )
        return node


def _limit(problem: str, mark: Any) -> YamlLimitError:
    return YamlLimitError(f"{problem}; refused before expanding it", mark.line + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
    """Parse one YAML document, returning its data and the line of every node.

    Raises:
        YamlSyntaxError: Not YAML, an unknown tag (``!!python/object``...), or a non-printable
            character; :class:`YamlLimitError` over a bound; :class:`YamlDuplicateKeys` when a
            mapping repeats a key. Each carries the 1-based line.
    """
    loader: _Yaml12BoolLoader | None = None
    try:
        loader = _Yaml12BoolLoader(text)  # checks every character at once
        root = loader.get_single_node()
        if root is None:
            return LocatedYaml(data=None)
        lines: dict[NodePath, int] = {}
        duplicates: list[tuple[NodePath, int, int]] = []
        _record_lines(root, (), lines, duplicates)  # before merge keys are flattened
        if duplicates:
            raise YamlDuplicateKeys(duplicates)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(_problem(exc), line) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, ...)
        line = text.count("\n", 0, exc.position) + 1
        raise YamlSyntaxError(
            f"character #x{exc.character:04x} (character {exc.position} of the file) is not "
            "allowed in YAML; is it a binary file?",
            line,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return LocatedYaml(data=data, lines=lines)


def _problem(exc: yaml.MarkedYAMLError) -> str:
    problem = str(exc.problem or exc)
    unknown_tag = re.match(r"could not determine a constructor for the tag '(.*)'", problem)
    if unknown_tag:
        tag = unknown_tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return f"tag {tag} is not allowed: a spec is plain YAML (no tags that build objects)"
    return problem


def _record_lines(
    node: yaml.Node,
    path: NodePath,
    lines: dict[NodePath, int],
    duplicates: list[tuple[NodePath, int, int]],
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, Any], int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.tag)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            identity = (key_node.tag, key)
            if identity in seen and key != "<<":  # ``<<`` merge keys may repeat
                duplicates.append((child, seen[identity], line))
            seen.setdefault(identity, line)
            _record_lines(value_node, child, lines, duplicates)
            lines[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines, duplicates)


def format_path(path: Sequence[str | int]) -> str:
    """``('models', 2, 'params', 'max_depth')`` -> ``models[2].params.max_depth``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"
