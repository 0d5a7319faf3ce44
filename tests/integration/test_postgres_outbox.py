"""A run whose ledger server is unreachable finishes anyway; its record waits in the local
outbox and `ledger sync`, or the next run that reaches the server, delivers it whole.

"Server stopped during a run" is a TCP proxy in front of the test server that the test
closes mid-run: every connection drops and new ones are refused, exactly what clients
see when the server goes down, without stopping a server other tests share.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import make_url

from ledger.read.queries import get_run, get_series, list_runs
from ledger.store.engine import Store, connect
from tests.helpers import ledger_process
from tests.integration.test_postgres import free_port
from tests.integration.test_sync import run_cli

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ledger.core.ids import RunId
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

TRAIN = """
import ledger

ledger.log_params({"lr": 0.1})
for step in range(50):
    ledger.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
print("trained")
"""


class Proxy:
    """Forwards 127.0.0.1:<port> to a server until `stop()`, which drops every connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where queued runs are delivered once the "server" is back: a SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def unreachable_url() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"


def outbox_runs(repo: TmpRepo) -> list[RunId]:
    path = repo.root / ".git" / "ledger" / "outbox.db"
    if not path.exists():
        return []
    box = connect(f"sqlite:///{path}")
    try:
        return [r.id for r in list_runs(box, limit=None)]
    finally:
        box.close()


@contextlib.contextmanager
def opened(url: str) -> Iterator[Store]:
    store = connect(url)
    try:
        yield store
    finally:
        store.close()


def test_a_run_that_cannot_reach_the_server_finishes_and_queues_its_record(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")

    proc = ledger_process(
        "run", "--", sys.executable, "train.py", cwd=tmp_repo.root, env={"LEDGER_URL": unreachable_url()}
    )

    assert proc.returncode == 0
    assert "trained" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert "cannot open the ledger at postgresql+psycopg://postgres@127.0.0.1:" in proc.stderr
    assert "queued in the local outbox" in proc.stderr
    (queued,) = outbox_runs(tmp_repo)
    box = connect(f"sqlite:///{tmp_repo.root / '.git' / 'ledger' / 'outbox.db'}")
    try:
        run = get_run(box, queued)
        assert run.summary.status == "finished"
        assert len(get_series(box, queued, "loss")) == 50
    finally:
        box.close()


def test_ledger_sync_delivers_the_outbox(
    tmp_repo: TmpRepo, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")
    ledger_process(
        "run", "--", sys.executable, "train.py", cwd=tmp_repo.root, env={"LEDGER_URL": unreachable_url()}
    )
    (queued,) = outbox_runs(tmp_repo)
    monkeypatch.setenv("LEDGER_URL", server_url)

    assert run_cli("--no-progress") == 0

    assert outbox_runs(tmp_repo) == []
    with opened(server_url) as store:
        run = get_run(store, queued)
        assert run.summary.status == "finished"
        assert run.summary.params == {"lr": 0.1}
        assert list(get_series(store, queued, "loss").steps) == list(range(50))
    assert run_cli("--no-progress") == 0  # nothing left: a second sync is a no-op


@pytest.mark.postgres
def test_the_next_run_that_reaches_the_server_delivers_the_outbox(tmp_repo: TmpRepo, pg_url: str) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")
    ledger_process(
        "run", "--", sys.executable, "train.py", cwd=tmp_repo.root, env={"LEDGER_URL": unreachable_url()}
    )
    (queued,) = outbox_runs(tmp_repo)

    proc = ledger_process(
        "run", "--", sys.executable, "train.py", cwd=tmp_repo.root, env={"LEDGER_URL": pg_url}
    )

    assert "delivered 1 queued run(s) from the local outbox" in proc.stderr
    assert outbox_runs(tmp_repo) == []
    with opened(pg_url) as store:
        runs = list_runs(store, limit=None)
        assert queued in {r.id for r in runs}
        assert {r.status for r in runs} == {"finished"}


LOSES_SERVER = """
import pathlib, time
import ledger

ledger.log_params({"lr": 0.1})
run = ledger.api.current_run()
for step in range(100):
    ledger.log_metrics({"loss": float(step)}, step=step)
run.flush()
pathlib.Path("ready").touch()
while not pathlib.Path("go").exists():
    time.sleep(0.05)
for step in range(100, 200):
    ledger.log_metrics({"loss": float(step)}, step=step)
run.flush()
ledger.log_params({"late": True})
run.set_tags(["after-outage"])
print("trained")
"""


@pytest.mark.postgres
def test_a_server_lost_during_a_run_gets_the_whole_record_after_sync(
    tmp_repo: TmpRepo, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_repo.gen({"train.py": LOSES_SERVER, ".gitignore": "ready\ngo\n"})
    tmp_repo.commit("train")
    parsed = make_url(pg_url)
    proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    via_proxy = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    env = {**os.environ, "LEDGER_URL": via_proxy, "LEDGER_FLUSH_INTERVAL": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledger", "run", "--", sys.executable, "train.py"],
        cwd=tmp_repo.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_repo.root / "ready").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with opened(pg_url) as store:
            (running,) = list_runs(store)
            assert running.status == "running"
        proxy.stop()  # the server is gone for the rest of the run
        (tmp_repo.root / "go").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        proxy.stop()
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 0, err
    assert "trained" in out
    assert "Traceback" not in err
    assert f"run {running.id[:12]} finished" in err
    assert "queued in the local outbox" in err
    assert outbox_runs(tmp_repo) == [running.id]
    monkeypatch.setenv("LEDGER_URL", pg_url)
    assert run_cli("--no-progress") == 0
    assert outbox_runs(tmp_repo) == []
    with opened(pg_url) as store:
        run = get_run(store, running.id)
        assert run.summary.status == "finished"
        assert run.summary.exit_code == 0
        assert run.summary.params == {"lr": 0.1, "late": True}
        assert run.summary.tags == ("after-outage",)
        assert run.log_size is not None
        series = get_series(store, running.id, "loss")
        assert list(series.steps) == list(range(200))
        assert list(series.values) == [float(s) for s in range(200)]
