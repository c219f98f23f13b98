"""A running multi-worker gunicorn swaps models on promote and rollback, failing nothing,
and every worker swaps within `reload_interval` plus the load time, traffic or not."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest

from relata.artifact import registry
from tests.conftest import cli, train_cli
from tests.serving import get_json, get_text, served, wait_until

pytestmark = pytest.mark.slow  # trains and serves

SLUGS = ["mars-rover-lands", "cup-final-report", "sourdough-bread-recipe", "election-polls-close"]


def _two_versions(models: Path, archive: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """A copy of the test models folder with a second version made live."""
    store = tmp_path / "models"
    shutil.copytree(models, store)
    first = registry.current_version(store)
    train_cli([archive], store, "--set", "recency_weight=0.9")
    return store, first, registry.current_version(store)


@pytest.mark.slow
def test_promote_and_rollback_under_load_fail_no_request(
    models: Path, archive: Path, tmp_path: Path
) -> None:
    store, first, second = _two_versions(models, archive, tmp_path)
    seen: dict[str, int] = {}
    failures: list[object] = []
    stop = threading.Event()

    with served(store, RELATA_RELOAD_INTERVAL="0.1") as base:

        def load() -> None:
            count = 0
            while not stop.is_set():
                try:
                    status, body = get_json(f"{base}/v1/related/{SLUGS[count % len(SLUGS)]}")
                except OSError as exc:  # a refused or dropped connection is a failure too
                    failures.append(exc)
                    continue
                if status != 200:
                    failures.append((status, body))
                else:
                    seen[body["model_version"]] = seen.get(body["model_version"], 0) + 1
                count += 1

        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()
        def traffic() -> None:  # let the clients get some answers before the next switch
            mark = sum(seen.values()) + len(failures)
            wait_until(lambda: sum(seen.values()) + len(failures) >= mark + 40, 60)

        for _ in range(3):
            traffic()
            cli("rollback", "--models", str(store))
            traffic()
            cli("promote", second, "--models", str(store))
        traffic()
        stop.set()
        for client in clients:
            client.join(timeout=10)
        assert not failures
        assert seen.get(first) and seen.get(second)
        # Every worker ends on the live version: each swaps at its next reload check, which
        # on a loaded machine can come a while after the last promote returned.
        wait_until(lambda: set(_served_by_worker(base).values()) == {second})
        for slug in SLUGS:
            assert get_json(f"{base}/v1/related/{slug}")[1]["model_version"] == second


def _served_by_worker(base: str) -> dict[str, str]:
    """Worker pid → the version it serves, from each worker's own `relata_model_info`."""
    metrics = get_text(f"{base}/metrics")
    return dict(re.findall(r'relata_model_info\{pid="(\d+)",version="([^"]+)"\} 1\.0', metrics))


RELOAD_INTERVAL = 0.5
LOAD_ALLOWANCE = 5.0  # verifying and mapping the test model takes far less


@pytest.mark.slow
def test_every_worker_swaps_within_the_reload_interval_without_traffic(
    models: Path, archive: Path, tmp_path: Path
) -> None:
    store, first, second = _two_versions(models, archive, tmp_path)
    cli("promote", first, "--models", str(store))

    with served(store, RELATA_RELOAD_INTERVAL=str(RELOAD_INTERVAL)) as base:
        wait_until(lambda: len(_served_by_worker(base)) == 2)  # both workers are up
        assert set(_served_by_worker(base).values()) == {first}
        cli("promote", second, "--models", str(store))
        # Only /metrics is asked (it reads every worker's gauge files, and loads nothing).
        wait_until(
            lambda: set(_served_by_worker(base).values()) == {second},
            seconds=RELOAD_INTERVAL + LOAD_ALLOWANCE,
        )
        for slug in SLUGS * 3:  # fresh connections: both workers, each at once on the new one
            assert get_json(f"{base}/v1/related/{slug}")[1]["model_version"] == second
