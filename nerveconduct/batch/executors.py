"""Where batch tasks run: in-process, a local process pool, or a Dask distributed cluster.

Every backend yields task results **in submission order** with a bounded number of tasks in
flight (:func:`ordered_results`), so the parent writes rows in nerve order while holding at
most ``max_in_flight`` chunk outputs: memory stays constant whatever the archive size.

- in-process (``jobs=1``): the task runs when its result is asked for;
- local pool (``jobs>1``): :class:`concurrent.futures.ProcessPoolExecutor` whose workers are
  forked from a clean *fork server* that has preloaded :mod:`nerveconduct.batch.warm` (imports
  and compiled kernel ready: workers start in milliseconds, and the server lives on for the
  next run), or started with ``spawn`` where there is no fork server (Windows). Never plain
  ``fork``: the measurement core runs threads, and forking a process with threads is unsafe.
  Workers receive the archive *path* and open it themselves. Every worker exits when the
  coordinator (the process running the pool) dies, also by SIGKILL (:func:`_init_worker`:
  a thread waiting on a pidfd of the coordinator on Linux, else polling its pid; plus
  ``prctl(PR_SET_PDEATHSIG)`` for the direct parent); once they are gone, the fork server
  and multiprocessing's resource tracker see their pipes close and exit too. Workers also
  start with the coordinator's archive-check verdicts (:mod:`nerveconduct.io._guard`), so
  they do not each check the archive again;
- Dask (``scheduler="local"`` starts a :class:`distributed.LocalCluster`; ``"tcp://host:port"``
  connects to a running scheduler): the same task function through ``client.submit``. Dask is
  an optional dependency, imported only here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator

__all__ = ["DaskMissingError", "ordered_results", "inline_backend", "pool_backend",
           "dask_backend"]

#: Tasks in flight per worker: one running, one queued so no worker waits for the parent.
IN_FLIGHT_PER_WORKER = 2

Task = Callable[[int, int], Any]
Submit = Callable[[int, int], Any]


class DaskMissingError(ImportError):
    """``scheduler=`` was given but Dask distributed is not installed."""


def ordered_results(submit: Submit, plan: Iterable[tuple[int, int]],
                    max_in_flight: int) -> Iterator[Any]:
    """Submit one task per ``(start_nerve, stop_nerve)`` and yield their results in order.

    At most ``max_in_flight`` tasks are submitted and not yet yielded; results that finish
    early wait in that bounded window (the reorder buffer).

    Parameters
    ----------
    submit : callable (start_nerve, stop_nerve) -> future
        Anything whose return value has ``.result()``.
    plan : iterable of (int, int)
    max_in_flight : int, >= 1

    Yields
    ------
    Whatever the futures' ``.result()`` returns, in the order of ``plan``.
    """
    pending: deque[Any] = deque()
    for start, stop in plan:
        pending.append(submit(start, stop))
        if len(pending) >= max_in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class _Deferred:
    """A future computed when its result is asked for (the in-process backend)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._fn, self._args = fn, args

    def result(self) -> Any:
        return self._fn(*self._args)


@contextlib.contextmanager
def inline_backend(task: Task) -> Iterator[tuple[Submit, int]]:
    """Run ``task(start, stop)`` in this process, one task at a time."""
    yield (lambda start, stop: _Deferred(task, start, stop)), 1


@contextlib.contextmanager
def pool_backend(jobs: int, task: Task) -> Iterator[tuple[Submit, int]]:
    """Run ``task(start, stop)`` in ``jobs`` worker processes (see the module docstring).

    ``task`` must be picklable (e.g. a :func:`functools.partial` of a module-level function
    with a path, not an open file). On leaving the block,
    tasks not yet started are cancelled and the workers stopped.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # takes effect when the fork server starts (the first pool of this process)
        context.set_forkserver_preload(["nerveconduct.batch.warm"])
    else:
        context = multiprocessing.get_context("spawn")
    from ..io._guard import known_verdicts

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(os.getpid(), known_verdicts()))

    def submit(start: int, stop: int) -> Future[Any]:
        return pool.submit(task, start, stop)

    try:
        yield submit, IN_FLIGHT_PER_WORKER * jobs
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _init_worker(coordinator_pid: int, verdicts: dict[Any, Any]) -> None:
    """Worker initializer: exit with the coordinator; adopt its archive-check verdicts.

    A forkserver worker's direct parent is the fork server, which outlives a killed
    coordinator as long as workers hold its pipe: the worker watches the coordinator itself
    (and dies with the fork server too).
    """
    from ..io._guard import adopt_verdicts, die_with_parent

    die_with_parent(coordinator_pid)
    adopt_verdicts(verdicts)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DaskMissingError(
            "running on a Dask cluster (scheduler=...) needs Dask distributed, which is not "
            "installed: pip install 'nerveconduct[dask]'") from exc
    return distributed


@contextlib.contextmanager
def dask_backend(scheduler: str, jobs: int | None, task: Task) -> Iterator[tuple[Submit, int]]:
    """Run ``task(start, stop)`` on a Dask cluster.

    Parameters
    ----------
    scheduler : str
        ``"local"``: start a ``LocalCluster`` of ``jobs or 2`` single-threaded worker
        processes for this run; otherwise the address of a running scheduler
        (``"tcp://host:8786"``), whose workers must be able to import nerveconduct and read
        the archive at the same path.
    jobs : int or None
        Workers of the local cluster; ignored for a remote scheduler (the cluster's size,
        read when the run starts, sets the tasks in flight).

    Raises
    ------
    DaskMissingError
        Dask distributed is not installed.
    """
    distributed = _distributed()
    cluster = None
    if scheduler == "local":
        cluster = distributed.LocalCluster(n_workers=jobs or 2, threads_per_worker=1,
                                           processes=True, dashboard_address=":0")
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)

    def submit(start: int, stop: int) -> Any:
        # pure=False: a rerun recomputes (the archive at that path may have changed)
        return client.submit(task, start, stop, pure=False)

    try:
        slots = sum(client.nthreads().values()) or 1
        yield submit, IN_FLIGHT_PER_WORKER * slots
    finally:
        client.close()  # releases this client's futures: tasks nobody waits for are dropped
        if cluster is not None:
            cluster.close()
