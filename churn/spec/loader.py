"""``load_spec(path) -> Spec``: parse, validate, cross-check; word every problem with its line."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from churn.defaults import DEFAULT_SPEC as DEFAULT_SPEC  # the one default
from churn.errors import SpecError
from churn.spec.bounds import MAX_ECHO, MAX_MESSAGE, shorten
from churn.spec.checks import ESTIMATOR_CHECKS, Location, Problem, SpecProblems
from churn.spec.model import Spec
from churn.spec.yaml_lines import (
    LocatedYaml,
    YamlDuplicateKeys,
    YamlSyntaxError,
    format_path,
    load_located,
)

MAX_SPEC_BYTES: Final = 1_048_576
"""A spec file may be at most 1 MiB (the default spec is about 6 KB)."""


def load_spec(path: str | Path = DEFAULT_SPEC, *, estimator_checks: bool = True) -> Spec:
    """Read and validate a spec file; raise :class:`SpecError` listing every problem.

    ``estimator_checks=False`` leaves out the checks of the models' ``params`` and search
    spaces, which import scikit-learn and XGBoost: for a process that does not train and
    has those checks made elsewhere (``churn drift``'s model process makes them).
    """
    spec, _ = load_spec_and_text(path, estimator_checks=estimator_checks)
    return spec


def load_spec_and_text(
    path: str | Path = DEFAULT_SPEC, *, estimator_checks: bool = True
) -> tuple[Spec, str]:
    """:func:`load_spec`, plus the exact text that was parsed (read once, for the run record)."""
    path = Path(path)
    text = read_spec_text(path)
    spec, located = _parse(text, source=str(path), estimator_checks=estimator_checks)
    return spec.located_at(path.resolve().parent, (str(path), located)), text


def read_spec_text(path: Path) -> str:
    """The spec file's text: at most :data:`MAX_SPEC_BYTES` bytes of UTF-8.

    Raises:
        SpecError: The file cannot be read, is too large, or is not UTF-8 (the message gives
            the byte offset and line of the first bad byte).
    """
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError([f"{path}: cannot read the spec: {exc.strerror or exc}"]) from None
    if len(content) > MAX_SPEC_BYTES:
        raise SpecError(
            [f"{path}: larger than {MAX_SPEC_BYTES:,} bytes; a spec may be at most that"]
        )
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        byte = content[exc.start : exc.start + 1].hex()
        raise SpecError(
            [
                f"{path}:{line}: not UTF-8 text: byte 0x{byte} at offset {exc.start} "
                "(save the spec as UTF-8; is it a binary file?)"
            ]
        ) from None


def parse_spec(text: str, *, source: str = "<spec>") -> Spec:
    """Validate spec text; ``source`` names it in messages. Relative paths resolve from cwd."""
    return _parse(text, source=source)[0]


def _parse(text: str, *, source: str, estimator_checks: bool = True) -> tuple[Spec, LocatedYaml]:
    """:func:`parse_spec`, plus the located YAML (for naming lines later)."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([f"{source}: larger than {MAX_SPEC_BYTES:,} characters"])
    try:
        located = load_located(text)
    except YamlDuplicateKeys as exc:
        raise SpecError(
            [
                f"{source}:{again}: {format_path(path)}: duplicate key (first at line {first}); "
                "each key may appear once"
                for path, first, again in exc.duplicates
            ]
        ) from None
    except YamlSyntaxError as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise SpecError([f"{where}: not valid YAML: {exc}"]) from None
    if not isinstance(located.data, dict):
        kind = type(located.data).__name__ if located.data is not None else "an empty file"
        expected = "a mapping with version, data, columns, ..."
        raise SpecError([f"{source}:1: expected {expected}; got {kind}"])
    try:
        spec = Spec.model_validate(located.data, context={ESTIMATOR_CHECKS: estimator_checks})
    except ValidationError as exc:
        problems = [_from_pydantic(error) for error in _one_per_union(exc.errors())]
        raise SpecError(_format(problems, located, source)) from exc
    except SpecProblems as exc:
        raise SpecError(_format(exc.problems, located, source)) from exc
    if estimator_checks and (model_problems := _param_problems(spec)):
        raise SpecError(_format(model_problems, located, source))
    return spec, located


def check_estimators(spec: Spec, text: str, *, source: str) -> None:
    """The checks of the models' ``params`` and search spaces that ``estimator_checks=False``
    left out, on the spec parsed from ``text`` (named ``source`` in messages): a caller that
    parsed without them first checks them later without parsing again.

    Raises:
        SpecError: Every parameter problem, worded as :func:`load_spec` words them.
    """
    from churn.spec.checks import search_space_problems

    # as a full load reports them: the search spaces' names with the cross-field problems
    # (none other here: the spec parsed), the params' values only once those pass
    if model_problems := search_space_problems(spec) or _param_problems(spec):
        raise SpecError(_format(model_problems, load_located(text), source))


def _param_problems(spec: Spec) -> list[Problem]:
    from churn.spec.estimators import param_problems  # scikit-learn: only for a sound spec

    return [
        (("models", index, *loc), message)
        for index, model in enumerate(spec.models)
        for loc, message in param_problems(model)
    ]


def _format(problems: list[Problem], located: LocatedYaml, source: str) -> list[str]:
    lines = []
    for loc, message in problems:
        line = located.line_of(loc)
        where = f"{source}:{line}" if line else source
        path = shorten(format_path(located.clean_path(loc)), quote=False, limit=MAX_ECHO * 2)
        lines.append(f"{where}: {path}: {shorten(message, quote=False, limit=MAX_MESSAGE)}")
    return lines


_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "none"})
"""How pydantic names the members of a union of scalars (``Scalar | None``) in a location."""


def _one_per_union(errors: list[Any]) -> list[Any]:
    """Where every member of a scalar union failed, the errors that say more than "not a str":
    ``params.C: .inf`` is reported once as not finite, not once per member of the union."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        key = loc[:-1] if loc and _is_union_member(loc[-1]) else loc
        groups.setdefault(key, []).append(error)
    kept = []
    for key, group in groups.items():
        if len(group) == 1:
            kept += group
            continue
        telling = [e for e in group if not str(e["type"]).endswith(("_type", "literal_error"))]
        if not telling:
            scalar = "Input should be a string, a number or a boolean"
            telling = [{**group[0], "msg": scalar}]
        seen: set[str] = set()
        for error in telling:
            if error["msg"] not in seen:
                seen.add(error["msg"])
                kept.append({**error, "loc": key})
    return kept


def _is_union_member(part: str | int) -> bool:
    """Whether a location part is pydantic's name of a union member, not a key of the spec."""
    return isinstance(part, str) and (
        part in _SCALAR_TAGS or part.startswith(("constrained-", "literal["))
    )


def _from_pydantic(error: Any) -> Problem:
    loc: Location = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return loc, "required key is missing"
    if kind == "extra_forbidden":
        return loc, _unknown_key_message(loc)
    if kind == "union_tag_invalid":
        return loc, f"unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return loc, f"missing `type`; expected one of {_tags_at(loc)}"
    if kind == "literal_error":
        return loc, f"expected one of {ctx.get('expected')}, got {given!r}"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").replace("Input should be", "expected")
    message = message[:1].lower() + message[1:]
    if kind.endswith("_type") or kind.startswith(("greater", "less", "too_", "string_")):
        message = f"{message}, got {given!r}"
    return loc, message


def _unknown_key_message(loc: Location) -> str:
    fields = _fields_at(loc[:-1])
    key = str(loc[-1])
    if not fields:
        return "unknown key"
    close = difflib.get_close_matches(key, fields, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key; expected one of {', '.join(fields)}{hint}"


def _fields_at(loc: Location) -> list[str]:
    """Field names of the spec model found at ``loc`` (pydantic locations, tags included)."""
    current: Any = Spec
    for part in loc:
        current = _child_type(current, part)
        if current is None:
            return []
    model = _model_in(current)
    return [name for name in model.model_fields if name != "type"] if model else []


def _child_type(annotation: Any, part: str | int) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(part, str) and part in model.model_fields:
        return model.model_fields[part].annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _child_type(args[0], part)
    if origin in (list, dict):
        return args[-1]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            arg_model = _model_in(arg)
            if arg_model is not None and _tag_of(arg_model) == part:
                return arg_model
        return annotation
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    models = [a for a in typing.get_args(annotation) if _model_in(a) is not None]
    return _model_in(models[0]) if len(models) == 1 else None


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if args else None


def _tags_at(loc: Location) -> list[str]:
    current: Any = Spec
    for part in loc:
        current = _child_type(current, part)
    found: list[str] = []
    stack = [current]
    while stack:
        item = stack.pop()
        model = _model_in(item) if isinstance(item, type) else None
        if model is not None and _tag_of(model):
            found.append(str(_tag_of(model)))
        else:
            stack.extend(typing.get_args(item))
    return sorted(found)
