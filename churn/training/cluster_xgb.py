"""An XGBoost candidate whose fits use the whole Dask cluster (``xgboost.dask``).

For a candidate marked ``distributed: true`` that trains on a Dask cluster, each fit (the CV
folds', the threshold tuner's and the final one) spreads the booster's training over every
worker: the transformed matrix is cut into one block of rows per worker, the scheduler places the
blocks, and ``xgboost.dask`` builds the trees on those workers together (each holds its block's
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
        model.fit(_spread(matrix, blocks), _spread(labels, blocks))
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


def _spread(values: np.ndarray, blocks: list[np.ndarray]) -> Any:
    """``values`` as a dask array of one row block per worker; the scheduler places the blocks
    (a scatter from inside a task would keep them all on this worker)."""
    import dask.array as da

    chunks = (tuple(len(rows) for rows in blocks), *((size,) for size in values.shape[1:]))
    return da.from_array(values, chunks=chunks)  # type: ignore[no-untyped-call]
