"""JSON Schema of the spec, generated from the pydantic models.

``python -m churn.spec.schema > spec/schema.json`` regenerates the committed copy; a test fails
when it is stale.
"""

from __future__ import annotations

import json

from churn.spec.model import Spec


def render_schema() -> str:
    """The spec's JSON Schema as stable, indented text."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "churn spec"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
