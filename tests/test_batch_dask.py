"""The batch run on a Dask distributed cluster gives the same bytes as the local run.

Dask is the optional extra ``pip install ".[dask]"``; CI installs it for these tests.
"""

from __future__ import annotations

import builtins
from pathlib import Path

import distributed
import pytest

from nerveconduct.batch.engine import DaskMissingError, run


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dask")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes: what ``scheduler="local"`` starts."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc:
        yield lc


@pytest.mark.parametrize("name, table", [("nerves.jsonl", "nerve"), ("segments.csv", "segment")])
def test_scheduler_address_same_bytes_as_local_run(archive, folder, cluster, name, table):
    local, remote = folder / f"local-{name}", folder / f"dask-{name}"
    run(archive, local, table=table)
    summary = run(archive, remote, table=table, scheduler=cluster.scheduler_address,
                  chunk_rows=37)
    assert remote.read_bytes() == local.read_bytes()
    assert summary.n_failed == 0 and summary.n_ok == summary.n_nerves > 100
    assert len(cluster.workers) == 2


def test_scheduler_local_starts_a_local_cluster(archive, folder, cluster, monkeypatch):
    """``scheduler="local"`` asks for 2 single-threaded worker processes and closes them.

    The cluster it gets is this module's (same shape), so the test pays no second start-up.
    """
    asked, closed = [], []

    class Borrowed:
        def __init__(self, **kwargs):
            asked.append(kwargs)
            self.scheduler_address = cluster.scheduler_address

        def close(self):
            closed.append(True)

    monkeypatch.setattr(distributed, "LocalCluster", Borrowed)
    monkeypatch.setattr(distributed, "Client",
                        lambda where: distributed.client.Client(where.scheduler_address))
    local, remote = folder / "local.jsonl", folder / "dask-local.jsonl"
    run(archive, local)
    run(archive, remote, scheduler="local", chunk_rows=64)
    assert remote.read_bytes() == local.read_bytes()
    assert asked == [{"n_workers": 2, "threads_per_worker": 1, "processes": True,
                      "dashboard_address": ":0"}]
    assert closed == [True]


def test_raises_clear_error_without_dask(archive, folder, monkeypatch):
    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(DaskMissingError, match=r"pip install 'nerveconduct\[dask\]'"):
        run(archive, folder / "never.jsonl", scheduler="local")
