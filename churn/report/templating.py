"""The report's Jinja2 environment: templates shipped in ``churn/report/templates``, autoescaped.

Every value a template prints is HTML-escaped unless it is :class:`markupsafe.Markup` (a
section already rendered by this environment), so data, spec and manifest text can never
inject markup. Undefined names fail loudly instead of printing nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@cache
def environment() -> Environment:
    """The one environment (built on first use, not at import)."""
    return Environment(
        loader=PackageLoader("churn.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_template(template: str, **context: Any) -> Markup:
    """``template`` rendered with ``context``, as markup other templates embed unescaped."""
    return Markup(environment().get_template(template).render(**context))
