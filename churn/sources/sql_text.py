"""Named parameters in a SQL source's query: ``:as_of`` becomes PostgreSQL's ``$1``.

The text is scanned once, skipping what cannot hold a parameter (quoted strings, quoted
identifiers, dollar-quoted bodies, comments and ``::`` casts), so a ``':as_of'`` in a string
stays a string. The values are bound by the driver, never formatted into the text.
"""

from __future__ import annotations

import re

from churn.errors import SpecError

PARAMETERS = ("as_of",)
"""The parameters a query may use."""
_TOKENS = re.compile(
    r"""
      (?P<skip> '(?:[^']|'')*'             # a string
              | "(?:[^"]|"")*"             # a quoted identifier
              | --[^\n]*                   # a line comment
              | /\*.*?\*/                  # a block comment
              | (?P<tag>\$[A-Za-z_]*\$).*?(?P=tag)   # a dollar-quoted body
              | ::                         # a cast
              )
    | :(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE | re.DOTALL,
)


def positional(sql: str, where: str) -> tuple[str, list[str]]:
    """``sql`` with ``:name`` as ``$1, $2...`` and the names in that order (a name used twice
    is one parameter).

    Raises:
        SpecError: The query uses a parameter churn does not bind; ``where`` names its line.
    """
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name is None:
            return match.group(0)
        if name not in PARAMETERS:
            raise SpecError([f"{where}: unknown parameter :{name}; a query may use :as_of"])
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _TOKENS.sub(replace, sql), names
