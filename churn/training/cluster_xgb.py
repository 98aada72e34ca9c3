"""An XGBoost candidate whose fits use the whole Dask cluster (``xgboost.dask``).

For a candidate marked ``distributed: true`` that trains on a Dask cluster, each fit (the CV
folds', the threshold tuner's and the final one) spreads the booster's training over every
worker: the transformed matrix is cut into one block of rows per worker, each block is pinned to
its worker, and ``xgboost.dask`` builds the trees on those workers together (each holds its block's
quantised matrix, gradients and histograms, not the whole data's; xgboost's own lock on the
workers keeps two such fits from interleaving). The matrix itself still passes once through the
candidate's worker, which builds it with the pipeline's feature steps. The booster comes back and
predicts here, so the fitted estimator is an ordinary ``XGBClassifier`` to pickle and serve.
Outside :func:`churn.training.parallel.cluster_wide_fits` it is an ordinary fit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from churn.training.parallel import cluster_wide_fits_active


class ClusterXGBClassifier(XGBClassifier):
    """``XGBClassifier`` whose ``fit`` trains with ``xgboost.dask`` when cluster-wide fits are
    on (a ``distributed: true`` candidate on a Dask cluster); predicts like its parent."""

    def fit(self, X: Any, y: Any, **kwargs: Any) -> ClusterXGBClassifier:
        """Fit on every worker of the cluster, or here when cluster-wide fits are off."""
        if not cluster_wide_fits_active() or kwargs:
            super().fit(X, y, **kwargs)
            return self
        from distributed import get_client
        from xgboost import dask as dxgb

        client = get_client()
        matrix = _dense(X)
        labels = np.asarray(y)
        workers = sorted(client.scheduler_info(n_workers=-1)["workers"])[: max(1, len(labels))]
        blocks = np.array_split(np.arange(len(labels)), len(workers))
        model = dxgb.DaskXGBClassifier(**self.get_params())
        model.client = client
        model.fit(
            _spread(client, matrix, blocks, workers), _spread(client, labels, blocks, workers)
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "booster.ubj"
            model.save_model(path)
            self.load_model(path)
        return self


def _dense(X: Any) -> np.ndarray:
    """The transformed matrix as a dense float array (one-hot output may be sparse)."""
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X, dtype=np.float32)


def _spread(client: Any, values: np.ndarray, blocks: list[np.ndarray], workers: list[str]) -> Any:
    """``values`` as a dask array whose row blocks live one on each worker (pinned: left to
    the scheduler, a busy worker's block may land beside another's, and it trains nothing)."""
    import dask.array as da
    from dask.delayed import delayed

    parts = []
    for rows, worker in zip(blocks, workers, strict=True):
        block = values[rows]
        future = client.submit(
            _block, block, workers=[worker], allow_other_workers=False, pure=False
        )
        part = da.from_delayed(  # type: ignore[no-untyped-call]
            delayed(future), shape=block.shape, dtype=block.dtype
        )
        parts.append(part)
    return da.concatenate(parts, axis=0)  # type: ignore[no-untyped-call]


def _block(values: np.ndarray) -> np.ndarray:
    """A row block, held by the worker this task runs on."""
    return values
