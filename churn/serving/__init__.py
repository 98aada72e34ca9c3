"""The served model and its pandas-free fast scoring path."""

from __future__ import annotations

from churn.serving.fast_inputs import (
    Columns,
    FloatArray,
    Unsupported,
    Values,
    frame_dtype,
    records_frame,
)
from churn.serving.fast_scorer import (
    FastScorer,
)
from churn.serving.fast_steps import (
    Encode,
    Transform,
)
from churn.serving.model import (
    ServingModel,
    load_serving_model,
)
from churn.serving.threads import (
    serve_single_threaded,
    single_openmp_thread,
)

__all__ = [
    "Columns",
    "Encode",
    "FastScorer",
    "FloatArray",
    "ServingModel",
    "Transform",
    "Unsupported",
    "Values",
    "frame_dtype",
    "load_serving_model",
    "records_frame",
    "serve_single_threaded",
    "single_openmp_thread",
]
