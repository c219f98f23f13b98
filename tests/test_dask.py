"""The parallel steps on a real dask.distributed cluster give the local result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from dask.distributed import LocalCluster

from relata import artifact
from relata.artifact import registry
from tests.conftest import train_cli

pytestmark = pytest.mark.slow  # starts a Dask cluster

FORCE_PARALLEL = ("--set", "parallel_min_articles=1", "--set", "chunk_size=4")


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # fmt: skip
        yield cluster


def _live(models: Path) -> artifact.LoadedModel:
    return artifact.load_model(models / registry.current_version(models))


@pytest.mark.slow
def test_dask_backend_equals_the_local_run(
    cluster: LocalCluster, archive: Path, tmp_path: Path
) -> None:
    train_cli([archive], tmp_path / "local", *FORCE_PARALLEL)
    address = cluster.scheduler_address
    train_cli([archive], tmp_path / "dask", *FORCE_PARALLEL, "--dask-scheduler", address)
    local, remote = _live(tmp_path / "local"), _live(tmp_path / "dask")
    assert np.array_equal(local.index, remote.index)
    assert np.array_equal(local.score, remote.score)
    # The blocks really ran on the cluster's workers.
    assert any("rank_block" in prefix for prefix in cluster.scheduler.task_prefixes)
