"""Named parameters in a SQL source's query: ``:as_of`` is read from a bound session setting.

The driver streams a query without parameters through PostgreSQL's binary ``COPY (query) TO
STDOUT``, and one with parameters through a prepared statement's rows, which costs 25-45% more
client CPU (``benchmarks/bench_sql.py``). So a query's ``:as_of`` becomes
``(SELECT current_setting('churn.as_of')::date)`` (a scalar subquery: the server evaluates it
once, not once per row as a bare ``current_setting`` in a filter), and the value is bound, as
``$2`` of ``SELECT set_config($1, $2, true)`` run first in the same transaction
(:data:`SET_PARAMETER`): it is never formatted into any SQL text, and it lasts until the
transaction ends.

The text is scanned once, skipping what cannot hold a parameter (quoted strings, quoted
identifiers, dollar-quoted bodies, comments and ``::`` casts), so a ``':as_of'`` in a string
stays a string.
"""

from __future__ import annotations

import re

from churn.errors import SpecError

PARAMETERS = {"as_of": "date"}
"""The parameters a query may use, and their SQL types."""
SETTING_PREFIX = "churn."
"""The namespace of the session settings that carry the parameters (``churn.as_of``)."""
SET_PARAMETER = "SELECT set_config($1, $2, true)"
"""Binds one parameter for the rest of the transaction: ``$1`` the setting, ``$2`` its text."""
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


def with_settings(sql: str, where: str) -> tuple[str, list[str]]:
    """``sql`` with each ``:name`` read from the setting ``churn.name`` (cast to its type),
    and the names used, in order of first use.

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
        return f"(SELECT current_setting('{SETTING_PREFIX}{name}')::{PARAMETERS[name]})"

    return _TOKENS.sub(replace, sql), names
