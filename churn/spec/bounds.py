"""Upper bounds on the sizes a spec may ask for: what a run can hold, with room to spare.

A spec that asks for more (``n_estimators: 1000000000``, ten thousand candidates) is refused at
``churn check`` with its line, instead of running out of memory or time hours later. Each bound
is far above any value a real churn model uses; the README's reliability section lists them.
"""

from __future__ import annotations

from typing import Final

MAX_SEED: Final = 2**32 - 1
"""numpy's and scikit-learn's seeds are 0 to 2**32 - 1."""
MAX_CANDIDATES: Final = 100
"""Candidates (models and ensembles) in one spec."""
MAX_COLUMNS: Final = 10_000
"""Columns the contract declares."""
MAX_NAME_CHARS: Final = 256
"""Characters in a column name, in the spec or in a data file's header."""
MAX_SEARCH_VALUES: Final = 1_000
"""Values one ``choice`` of a search space lists."""
PARAM_BOUNDS: Final[dict[str, int]] = {
    "n_estimators": 100_000,
    "max_iter": 1_000_000,
    "max_bin": 65_536,
    "max_leaf_nodes": 1_000_000,
    "num_parallel_tree": 10_000,
}
"""Largest value of an estimator's size parameter (trees, iterations, bins, leaves), whichever
model takes it; checked in ``params`` and in search spaces."""
MAX_ECHO: Final = 80
"""Characters of a name or value a message echoes (the rest is counted, not shown)."""
MAX_MESSAGE: Final = 500
"""Characters of one problem line of a spec error."""


def shorten(text: str, *, quote: bool = True, limit: int = MAX_ECHO) -> str:
    """``text`` as a message echoes it: quoted (``repr``) unless ``quote`` is False, and cut to
    ``limit`` characters with the full length said (``'xxxx'... (52,428,800 characters)``)."""
    if len(text) <= limit:
        return repr(text) if quote else text
    cut = repr(text[:limit]) if quote else text[:limit]
    return f"{cut}... ({len(text):,} characters)"
