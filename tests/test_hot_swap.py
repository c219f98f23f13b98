"""A running multi-worker gunicorn swaps models on promote and rollback, failing nothing."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from tests.conftest import cli, train_cli
from tests.serving import get_json, get_text, served, wait_until
from training import registry

SLUGS = ["mars-rover-lands", "cup-final-report", "sourdough-bread-recipe", "election-polls-close"]


def test_promote_and_rollback_under_load_fail_no_request(
    models: Path, archive: Path, tmp_path: Path
) -> None:
    store = tmp_path / "models"
    shutil.copytree(models, store)
    first = registry.current_version(store)
    train_cli([archive], store, "--set", "recency_weight=0.9")
    second = registry.current_version(store)
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
        for _ in range(3):
            time.sleep(0.7)
            cli("rollback", "--models", str(store))
            time.sleep(0.7)
            cli("promote", second, "--models", str(store))
        time.sleep(0.5)
        stop.set()
        for client in clients:
            client.join(timeout=10)
        assert not failures
        assert seen.get(first) and seen.get(second)
        for slug in SLUGS:  # every worker ends on the live version
            wait_until(
                lambda slug=slug: (
                    get_json(f"{base}/v1/related/{slug}")[1]["model_version"] == second
                )
            )
        metrics = get_text(f"{base}/metrics")
        assert f'relata_model_info{{version="{second}"}} 1.0' in metrics
