"""champion.json: the pointer to the serving model, every field of it checked when it is read.

Guarantees:

* The pointer is read as a regular file of at most 1 MiB of bounded JSON (see
  :mod:`churn.registry.reading`) and validated by :class:`ChampionPointer`: safe run id and
  model name, a sha256 of 64 hex digits, a threshold that is null or a finite number in
  [0, 1], finite metrics, a known action; unknown keys are refused.
* ``model_path`` must be ``runs/<run_id>/<model_name>``: the model file lies in the run the
  pointer names, never in another run or outside the registry.
* Whether that file is the one the run itself recorded (path and hash) is checked against the
  run's record by :meth:`~churn.registry.Registry.verify_champion` and
  :meth:`~churn.registry.Registry.load_champion`, before anything is served.

Nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import Field, FiniteFloat, ValidationError

from churn.errors import RegistryError
from churn.registry.reading import MAX_POINTER_BYTES, parse_json, read_regular
from churn.registry.record import ChampionAction, _Record, validation_problems

SAFE_NAME: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
"""As :func:`churn.registry.home.is_safe_name`."""
MAX_REASON_CHARS: Final = 10_000
"""A promotion's or rollback's reason may be at most this long (it is kept in the pointer)."""


class ChampionPointer(_Record):
    """champion.json, as :meth:`~churn.registry.Registry.set_champion` writes it.

    What every reader of the champion gets (the registry, the serving model, the API, the
    CLI); :meth:`as_dict` is the file's JSON, keys that an older churn did not write left out.
    """

    run_id: Annotated[str, Field(pattern=SAFE_NAME)]
    model_name: Annotated[str, Field(pattern=SAFE_NAME)]
    model_path: Annotated[str, Field(max_length=300)]
    model_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    metrics: dict[str, FiniteFloat | None] = Field(default_factory=dict)
    threshold: Annotated[FiniteFloat, Field(ge=0.0, le=1.0)] | None = None
    promoted_at: str | None = None
    previous: Annotated[str, Field(pattern=SAFE_NAME)] | None = None
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] | None = None
    action: ChampionAction = "promote"

    @property
    def expected_model_path(self) -> str:
        """Where the model file of ``run_id`` named ``model_name`` lies, from the home."""
        return f"runs/{self.run_id}/{self.model_name}"


def read_pointer(path: Path) -> ChampionPointer | None:
    """The checked champion.json at ``path``; None when there is none.

    Raises:
        RegistryError: The file is unreadable (not a regular file, too large, not JSON, nested
            too deep) or a field does not fit; the message names the file and the fields.
    """
    try:
        raw = read_regular(path, what="champion pointer", limit=MAX_POINTER_BYTES)
    except FileNotFoundError:
        return None
    try:
        data = parse_json(raw, source=str(path))
    except RegistryError as exc:
        raise RegistryError(
            f"unreadable {exc}; restore it (ledger.jsonl lists every champion) or remove it to "
            "start without a champion"
        ) from None
    if not isinstance(data, dict):
        raise RegistryError(
            f"{path} is not a champion pointer: expected a JSON object, got {type(data).__name__}"
        )
    return as_pointer(data, source=str(path))


def as_pointer(data: Mapping[str, Any], *, source: str) -> ChampionPointer:
    """``data`` checked as a champion pointer (what is read, and what is about to be written).

    Raises:
        RegistryError: A field does not fit, or ``model_path`` is not the model file of the run
            the pointer names; the message names ``source`` and the fields.
    """
    try:
        pointer = ChampionPointer.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(
            f"{source} is not a champion pointer: {validation_problems(exc)}"
        ) from None
    if pointer.model_path != pointer.expected_model_path:
        raise RegistryError(
            f"{source}: model_path {pointer.model_path!r} is not the model file of run "
            f"{pointer.run_id} (expected {pointer.expected_model_path!r})"
        )
    return pointer
