"""Adaptive micro-batching: concurrent small /predict requests scored in one vectorised call.

Scoring one record costs about as much as scoring thirty (the estimators' and scikit-learn's
per-call checks dominate), so under load the requests that arrive together are gathered and
scored at once, as Triton's dynamic batcher and BentoML's adaptive batching do. A request joins
the queue after it was validated; the collector scores the queue when it holds
``max_size`` records, when ``max_wait`` seconds have passed since its oldest request arrived,
or as soon as no other request is on its way (so a lone request never waits). While one batch
is scored (in a worker thread), the event loop keeps reading and validating the next requests,
which form the next batch.

Each caller gets exactly its own answer: only models whose per-row results do not depend on
the rows scored with them are batched (:attr:`~churn.serving.FastScorer.batch_invariant`),
requests served by different models (around a reload) are scored separately, and when a batch
fails every request in it is scored alone, so one bad record fails only its own request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np

from churn.api.explained import ExplainedBatch, explain_batch, explained
from churn.serving import Columns, FloatArray, ServingModel


@dataclass(eq=False)
class _Request:
    """One caller's records, waiting for their probabilities."""

    model: ServingModel
    columns: Columns
    n: int
    future: asyncio.Future[Any]
    arrived: float = field(default_factory=time.monotonic)
    explain: int = 0
    """Reasons per record asked for (0: none); the answer is then ``(proba, fields)``."""


class MicroBatcher:
    """Gathers concurrent requests of a few records into one scoring call.

    Args:
        max_wait: Longest a request waits for others to join it, in seconds.
        max_size: Most records scored in one call; a request of more is scored alone.
        observe: Called with the number of records of every batched scoring call.
    """

    def __init__(
        self,
        *,
        max_wait: float,
        max_size: int,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self.max_wait = max_wait
        self.max_size = max_size
        self._observe = observe
        self._queue: list[_Request] = []
        self._rows = 0
        self._arriving = 0
        self._wake: asyncio.Event | None = None
        self._collector: asyncio.Task[None] | None = None

    def accepts(self, model: ServingModel, n: int) -> bool:
        """True when a request of ``n`` records for ``model`` may join a batch."""
        return n < self.max_size and model.scorer.batch_invariant

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Mark a request on its way (reading, validating): the collector waits for it."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1
            self._signal()

    async def score(self, model: ServingModel, columns: Columns, n: int) -> FloatArray:
        """P(churn) of ``n`` records, scored with whatever requests arrive with them.

        Raises:
            ValueError: The model refuses these records (other requests are unaffected).
        """
        loop = asyncio.get_running_loop()
        return await self._enqueue(  # type: ignore[no-any-return]
            _Request(model, columns, n, loop.create_future())
        )

    async def _enqueue(self, request: _Request) -> Any:
        """Queue ``request`` and wait for its answer."""
        loop = asyncio.get_running_loop()
        self._queue.append(request)
        self._rows += request.n
        self._signal()
        if self._collector is None or self._collector.done():
            self._collector = loop.create_task(self._collect())
        return await request.future

    async def explain(
        self, model: ServingModel, columns: Columns, n: int, k: int
    ) -> tuple[FloatArray, dict[str, Any]]:
        """P(churn) of ``n`` records and their top ``k`` reasons (:func:`explained`'s fields),
        scored and explained with whatever requests arrive with them.

        Raises:
            ValueError: The model refuses these records (other requests are unaffected).
        """
        loop = asyncio.get_running_loop()
        request = _Request(model, columns, n, loop.create_future(), explain=k)
        return await self._enqueue(request)  # type: ignore[no-any-return]

    def _signal(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _ready(self) -> bool:
        return self._rows >= self.max_size or self._arriving == 0

    async def _collect(self) -> None:
        """Score the queue batch by batch until it is empty."""
        self._wake = self._wake or asyncio.Event()
        while self._queue:
            deadline = self._queue[0].arrived + self.max_wait
            while not self._ready() and (left := deadline - time.monotonic()) > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
            batch = self._take()
            results = await anyio.to_thread.run_sync(score_batch, batch)
            for request, result in zip(batch, results, strict=True):
                if request.future.done():  # the caller went away
                    continue
                if isinstance(result, BaseException):
                    request.future.set_exception(result)
                else:
                    request.future.set_result(result)
            if self._observe is not None:
                self._observe(sum(request.n for request in batch))

    def _take(self) -> list[_Request]:
        """The oldest requests up to ``max_size`` records (at least one)."""
        size, count = 0, 0
        for request in self._queue:
            if count and size + request.n > self.max_size:
                break
            size, count = size + request.n, count + 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        self._rows -= size
        return batch


def score_batch(batch: list[_Request]) -> list[Any]:
    """Each request's probabilities, or the exception scoring it alone raised.

    Requests are grouped by the model they started with; a group is scored in one call, and
    if that call fails, each of its requests is scored alone. When some ask for reasons, the
    group is encoded once and their rows are explained in one call too.
    """
    results: dict[int, Any] = {}
    groups: dict[int, list[_Request]] = {}
    for request in batch:
        groups.setdefault(id(request.model), []).append(request)
    for group in groups.values():
        scorer = group[0].model.scorer
        names = list(group[0].columns)
        total = sum(request.n for request in group)
        try:
            merged = {
                name: list(itertools.chain.from_iterable(r.columns[name] for r in group))
                for name in names
            }
            why: ExplainedBatch | None = None
            if any(request.explain for request in group):
                wanted = np.repeat([request.explain > 0 for request in group], [r.n for r in group])
                proba, why = explain_batch(group[0].model, merged, total, wanted)
            else:
                proba = scorer.predict_proba(merged, total)
        except Exception:  # noqa: BLE001 - find the request(s) at fault by scoring alone
            for request in group:
                results[id(request)] = _alone(request)
            continue
        offsets = np.cumsum([0, *(request.n for request in group)])
        for request, start, stop in zip(group, offsets[:-1], offsets[1:], strict=True):
            part = proba[start:stop].copy()
            if why is not None and request.explain:
                results[id(request)] = (part, why.answer(start, stop, request.explain))
            else:
                results[id(request)] = part
    return [results[id(request)] for request in batch]


def _alone(request: _Request) -> Any:
    try:
        if request.explain:
            return explained(request.model, request.columns, request.n, request.explain)
        return request.model.scorer.predict_proba(request.columns, request.n)
    except Exception as exc:  # noqa: BLE001 - handed to that request's caller
        return exc
