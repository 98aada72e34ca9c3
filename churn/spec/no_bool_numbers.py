"""Refuse a YAML boolean where the spec means a number (``outcome_horizon_days: true``).

Python's ``bool`` is an ``int``, so pydantic's lax mode reads ``true`` as ``1`` in an ``int`` or
``float`` field. :func:`bool_where_number` walks a field's annotation beside its value and names
the first boolean that sits where only a number (or a list/mapping of numbers) is accepted.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import InitErrorDetails, PydanticCustomError

_NUMBERS = (int, float)
_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)


def bool_where_number(annotation: Any, value: Any) -> tuple[str | int, ...] | None:
    """Where in ``value`` a boolean stands for a number of ``annotation``: ``()`` for the value
    itself, ``(2,)`` / ``("key",)`` for an item, or ``None`` when there is no such boolean."""
    members = _members(annotation)
    if isinstance(value, bool):
        admits_bool = any(_admits_bool(member) for member in members)
        wants_number = any(member in _NUMBERS for member in members)
        return () if wants_number and not admits_bool else None
    if isinstance(value, list | tuple):
        items = [get_args(m) for m in members if _origin_in(m, _SEQUENCES)]
        for index, item in enumerate(value):
            for args in items:
                where = _first_arg_hit(args, item)
                if where is not None:
                    return (index, *where)
    if isinstance(value, dict):
        values = [get_args(m)[1:] for m in members if _origin_in(m, _MAPPINGS)]
        for key, item in value.items():
            for args in values:
                where = _first_arg_hit(args, item)
                if where is not None:
                    return (str(key), *where)
    return None


def _first_arg_hit(args: tuple[Any, ...], item: Any) -> tuple[str | int, ...] | None:
    kinds = [arg for arg in args if arg is not Ellipsis]
    if not kinds:
        return None
    union = kinds[0] if len(kinds) == 1 else Union[tuple(kinds)]  # noqa: UP007
    return bool_where_number(union, item)


def _members(annotation: Any) -> list[Any]:
    """The members of a union (``Optional``, ``|``), with ``Annotated`` unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]


def _admits_bool(member: Any) -> bool:
    if member is bool or member is Any:
        return True
    if get_origin(member) is Literal:
        return any(isinstance(arg, bool) for arg in get_args(member))
    return False


def _origin_in(member: Any, origins: tuple[type, ...]) -> bool:
    origin = get_origin(member)
    return origin is not None and any(origin is o or origin == o for o in origins)


def bool_number_errors(model: type[BaseModel], data: Any) -> list[InitErrorDetails]:
    """One pydantic error per field of ``model`` in ``data`` that holds a boolean for a number."""
    if not isinstance(data, dict):
        return []
    errors = []
    for name, field in model.model_fields.items():
        if name not in data:
            continue
        where = bool_where_number(field.annotation, data[name])
        if where is not None:
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("bool_for_number", _MESSAGE),
                    loc=(name, *where),
                    input=_at(data[name], where),
                )
            )
    return errors


_MESSAGE = "expected a number, not a boolean (true/false)"


def _at(value: Any, where: tuple[str | int, ...]) -> Any:
    for part in where:
        value = value[part]
    return value
