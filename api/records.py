"""The /predict request models, generated from the spec's columns, and body parsing.

One field per model input column plus the id column, and optional fields for the declared
columns the model does not read (so a full customer record is accepted): categorical columns
with declared values are ``Literal[...]`` of them (so /docs lists them and an unseen category
is a 422 naming the field and the allowed values), numbers carry the spec's min/max, nullable
columns are optional and may be null, the target and undeclared keys are refused. Validation
is strict: ``"12"`` is not a number and ``1`` is not ``"1"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError

from churn.api.columnar import ColumnarCheck, int_range
from churn.spec import ColumnSpec, Spec

INT64 = (-(2**63), 2**63 - 1)
MAX_ERRORS = 20
"""At most this many validation errors are returned; the rest are counted."""
ID_MAX_LENGTH = 256
TEXT_MAX_LENGTH = 1024
COLUMNAR_MIN = 16
"""From this many records the column-at-a-time check beats the record model (at 1: 4x slower)."""
REQUEST_MODEL = "PredictRequest"
RECORD_MODEL = "CustomerRecord"
NO_ID_FIELD = "id"
"""The (optional) id key of a record when the spec declares no ``data.id``."""


@dataclass(frozen=True)
class RecordSchema:
    """The generated models and how to turn a validated body into columns."""

    record_model: type[BaseModel]
    request_model: type[BaseModel]
    id_column: str
    attributes: Mapping[str, str]
    """Column name (the JSON key) -> attribute of the record model, id column included."""
    specs: Mapping[str, ColumnSpec]
    """The model input columns (every record field except the id)."""
    max_batch: int
    columnar: ColumnarCheck
    """Accepts clean batches without a model instance per record."""


def build_record_schema(spec: Spec, *, max_batch: int) -> RecordSchema:
    """Generate the record and request models from the spec's columns."""
    inputs = {name: spec.columns[name] for name in spec.feature_columns}
    id_name = spec.data.id or NO_ID_FIELD
    fields: dict[str, Any] = {
        "f0": (
            str if spec.data.id else str | None,
            Field(
                default=... if spec.data.id else None,
                alias=id_name,
                title=id_name,
                min_length=1,
                max_length=ID_MAX_LENGTH,
                description=_id_description(spec),
            ),
        )
    }
    attributes = {id_name: "f0"}
    for index, (name, column) in enumerate(inputs.items(), start=1):
        fields[f"f{index}"] = _field(name, column)
        attributes[name] = f"f{index}"
    # Declared columns the model does not read (features.drop) may come along with a full
    # customer record: they are checked against their contract, then ignored.
    unused = [
        name
        for name in spec.columns
        if name not in inputs and name not in (spec.data.id, spec.data.target.column)
    ]
    for index, name in enumerate(unused, start=len(fields)):
        fields[f"f{index}"] = _field(name, spec.columns[name], optional=True)
    record = create_model(
        RECORD_MODEL,
        __config__=ConfigDict(extra="forbid", strict=True, title=RECORD_MODEL),
        __doc__=f"One customer of spec {spec.name!r}: the model's input columns and the id.",
        **fields,
    )
    request = create_model(
        REQUEST_MODEL,
        __config__=ConfigDict(extra="forbid", strict=True, title=REQUEST_MODEL),
        __doc__="Customers to score.",
        records=(
            list[record],
            Field(
                min_length=1,
                max_length=max_batch,
                description=f"1 to {max_batch} customers (more: 413).",
            ),
        ),
    )
    columnar = ColumnarCheck(
        id_name,
        inputs,
        id_length=(1, ID_MAX_LENGTH),
        text_length=(0, TEXT_MAX_LENGTH),
        int_bounds=INT64,
    )
    return RecordSchema(record, request, id_name, attributes, inputs, max_batch, columnar)


def _id_description(spec: Spec) -> str:
    if spec.data.id is None:
        return (
            "Optional (the spec has no id column); answers carry it back, or the record's number."
        )
    return f"The customer id (column {spec.data.id!r}); answers carry it back as `id`."


def _field(name: str, column: ColumnSpec, *, optional: bool = False) -> tuple[Any, Any]:
    """(type, FieldInfo) of one column; ``optional`` for columns the model does not read."""
    annotation: Any
    constraints: dict[str, Any] = {}
    if column.values is not None:
        annotation = Literal[tuple(column.values)]
        if column.dtype == "int":
            annotation = Annotated[annotation, BeforeValidator(_whole)]
    elif column.dtype == "int":
        annotation = WholeNumber
        low, high = int_range(column, INT64)
        constraints = {"ge": low, "le": high}
    elif column.dtype == "float":
        annotation = float
        constraints = {"ge": column.min, "le": column.max, "allow_inf_nan": False}
    elif column.dtype == "bool":
        annotation = bool
    else:
        annotation = str
        constraints = {"max_length": TEXT_MAX_LENGTH}
    description = _describe(column)
    if optional:
        description = f"{description}; not used by the model (features.drop), may be left out"
    if column.nullable or optional:
        return annotation | None, Field(
            None, alias=name, title=name, description=description, **constraints
        )
    return annotation, Field(alias=name, title=name, description=description, **constraints)


def _whole(value: Any) -> Any:
    """3.0 -> 3 (JSON Schema counts a number with no fraction as an integer); no booleans."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if type(value) is float and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole)]
"""An integer; 3.0 is accepted as 3, "3" and 3.5 are not."""


def _describe(column: ColumnSpec) -> str:
    parts = [column.description] if column.description else []
    if column.values is not None:
        parts.append("one of the values the spec declares; any other is refused (422)")
    elif column.kind == "categorical":
        parts.append("free text; a category the model never saw is encoded as the spec says")
    if column.nullable:
        parts.append("may be null or left out (missing)")
    return "; ".join(parts) or column.dtype


class PayloadTooLarge(HTTPException):
    """413 with a short detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, detail)


def parse_body(schema: RecordSchema, body: bytes) -> tuple[list[str], dict[str, list[Any]]]:
    """Validate a /predict body; return the ids and the input columns.

    The batch size is checked on the parsed JSON before any record is validated.

    Raises:
        PayloadTooLarge: More than ``max_batch`` records.
        RequestValidationError: Not JSON, or a record breaks the schema (422, every field named).
    """
    try:
        payload = pydantic_core.from_json(body)
    except ValueError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": "JSON decode error",
                    "input": None,
                    "ctx": {"error": str(exc)},
                }
            ]
        ) from None
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list):  # not a list of records: the model's validation words it
        records = None
    if records is not None and len(records) > schema.max_batch:
        raise PayloadTooLarge(
            f"{len(records)} records in one request; at most {schema.max_batch} "
            "(CHURN_MAX_BATCH): split the batch"
        )
    if records is not None and len(payload) == 1 and len(records) >= COLUMNAR_MIN:
        columns = schema.columnar.columns(records)
        if columns is not None:
            return columns.pop(schema.id_column), columns
    try:
        request = schema.request_model.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(_short(exc)) from None
    rows = [record.__dict__ for record in request.records]  # type: ignore[attr-defined]
    # Without an id column a record may leave `id` out; it is then its number in the request.
    ids = [str(n) if row["f0"] is None else row["f0"] for n, row in enumerate(rows, start=1)]
    columns = {name: [row[schema.attributes[name]] for row in rows] for name in schema.specs}
    return ids, columns


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data (NaN and infinities as strings, so the 422 can be sent)."""
    return pydantic_core.from_json(
        pydantic_core.to_json(value, inf_nan_mode="strings", serialize_unknown=True)
    )


def _short(exc: ValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False)[:MAX_ERRORS]:
        errors.append({**_plain(error), "loc": ("body", *error["loc"])})
    if exc.error_count() > MAX_ERRORS:
        errors.append(
            {
                "type": "too_many_errors",
                "loc": ("body",),
                "input": None,
                "msg": f"{exc.error_count() - MAX_ERRORS} more errors not shown",
            }
        )
    return errors
