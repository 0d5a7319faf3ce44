"""A team ledger you can trust: identities, rights and tamper evidence, held by PostgreSQL.

Each test gets a ledger schema of its own on the real server (upgraded by the
superuser, who owns it) and login roles of its own: two writers (alice, bob), a
reader (carol), an admin (dave) and a role granted nothing (erin), all dropped afterwards. What must not happen is
tried through the ledger's code and through plain SQL as the role, the way a client
that skips the ledger's code would.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ledger.core.chunks import Points
from ledger.core.errors import StoreDeniedError
from ledger.core.ids import RunId, new_run_id
from ledger.core.records import Metric, NewRun, Param, RunEnd
from ledger.read.queries import get_run, get_series, list_runs
from ledger.store import archive, policies, transfer
from ledger.store.engine import Store, connect
from ledger.store.record_rows import Bundle, digest_of, read_bundle
from ledger.store.writes import add_params, add_points, add_tags, create_run, finish_run, set_note
from tests.helpers import ledger, ledger_process, runs_json
from tests.integration.test_sync import rich_run

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

T0 = 1_767_225_600.0


@dataclass
class Team:
    """One ledger schema and the URLs of its people (`admin` is the superuser that owns it)."""

    schema: str
    urls: dict[str, str]
    roles: dict[str, str]

    def store(self, who: str) -> Store:
        return connect(self.urls[who])

    def sql(self, who: str) -> psycopg.Connection:
        """A plain psycopg connection as `who`: no ledger code in the way."""
        url = make_url(self.urls[who])
        return psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            dbname=url.database,
            options=f"-csearch_path={self.schema}",
            autocommit=True,
        )


@pytest.fixture
def team() -> Iterator[Team]:
    from tests.conftest import PG_SKIP, PG_URL

    if not PG_URL:
        pytest.skip(PG_SKIP)
    base = make_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:20]}"
    suffix = uuid.uuid4().hex[:8]
    roles = {who: f"{who}_{suffix}" for who in ("alice", "bob", "carol", "dave", "erin")}
    admin = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def url(user: str) -> str:
        return (
            base.set(username=user)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )

    urls = {"admin": url(base.username or "postgres"), **{who: url(role) for who, role in roles.items()}}
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            for role in roles.values():
                conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        owner = connect(urls["admin"], upgrade=True)
        try:
            for who, level in (
                ("alice", "writer"),
                ("bob", "writer"),
                ("carol", "reader"),
                ("dave", "admin"),
            ):
                policies.grant(owner, roles[who], level)
        finally:
            owner.close()
        yield Team(schema, urls, roles)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            policies.drop_groups(conn, base.database or "", schema)
            for role in roles.values():
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def pts(steps: list[int], values: list[float]) -> Points:
    return Points(array("q", steps), array("q", [1000 * s for s in steps]), array("d", values))


def start(store: Store, **fields: object) -> RunId:
    run_id = new_run_id()
    create_run(store, NewRun(id=run_id, source="run", started_at=T0, **fields))  # type: ignore[arg-type]
    return run_id


def end(store: Store, run_id: RunId, status: str = "finished") -> None:
    finish_run(store, run_id, RunEnd(status=status, ended_at=T0 + 60, exit_code=0))


def snapshot(store: Store, run_id: RunId) -> str:
    """What a reader sees of a run, to show that a refused write changed nothing
    (as text: NaN, which a record may hold, equals nothing, not even itself)."""
    detail = get_run(store, run_id)
    return repr(
        (
            detail.summary.status,
            detail.summary.exit_code,
            detail.argv,
            detail.user,
            detail.params,
            detail.metrics,
            list(get_series(store, run_id, "loss").values) if "loss" in detail.series_keys else None,
            detail.digest,
            detail.owner,
        )
    )


def unseen(conn: psycopg.Connection, statement: str, *params: object) -> None:
    """Run an UPDATE or DELETE whose rows row-level security hides from this role:
    the server runs it on no row at all (PostgreSQL's rule for USING, not an error)."""
    assert conn.execute(statement, params).rowcount == 0


def refused(conn: psycopg.Connection, statement: str, *params: object) -> str:
    """Run SQL that the server must refuse; the server's message."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        conn.execute(statement, params)
    return str(caught.value)


def test_a_team_ledger_upgraded_from_the_last_schema_keeps_its_runs_unowned_and_sealed(team: Team) -> None:
    """Runs recorded before owners existed are nobody's: not the upgrading admin's."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from ledger.store.engine import MIGRATIONS

    old = f"{team.schema}_old"
    admin = create_engine(team.urls["admin"].replace(team.schema, old), poolclass=NullPool)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{old}"'))
            conn.execute(text(f'SET search_path = "{old}"'))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            conn.execute(
                text("INSERT INTO runs (id, status, source, started_at) VALUES ('0', 'finished', 'run', 1.0)")
            )
        upgraded = connect(team.urls["admin"].replace(team.schema, old), upgrade=True)
        try:
            detail = get_run(upgraded, RunId("0"))
            with pytest.raises(StoreDeniedError, match="has ended"), upgraded.writing_core() as conn:
                conn.execute(text("UPDATE runs SET exit_code = 1 WHERE id = '0'"))
        finally:
            upgraded.close()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{old}" CASCADE'))
            policies.drop_groups(conn, make_url(team.urls["admin"]).database or "", old)
        admin.dispose()

    assert detail.owner is None
    assert detail.summary.status == "finished"


# identities


def test_the_owner_is_the_server_role_whatever_the_client_says(team: Team) -> None:
    alice = team.store("alice")
    try:
        run_id = start(alice, user="mallory@evil", host="nowhere")
        with team.sql("alice") as conn:
            conn.execute(
                "INSERT INTO runs (id, status, source, started_at, owner) VALUES (%s, 'running', 'run', 0, %s)",
                ("forged-owner", team.roles["bob"]),
            )
            owners: dict[str, str] = dict(conn.execute("SELECT id, owner FROM runs").fetchall())
    finally:
        alice.close()

    assert owners == {run_id: team.roles["alice"], "forged-owner": team.roles["alice"]}


def test_ledger_show_names_who_recorded_and_who_annotated(team: Team, tmp_repo: TmpRepo) -> None:
    alice, bob = team.store("alice"), team.store("bob")
    try:
        run_id = start(alice, tags=["baseline"])
        end(alice, run_id)
        add_tags(bob, [run_id], ["checked"])
        set_note(bob, run_id, "looks right")
    finally:
        alice.close()
        bob.close()

    shown = ledger("show", run_id, cwd=tmp_repo.root, env={"LEDGER_URL": team.urls["carol"]}).stdout

    assert f"recorded by      {team.roles['alice']}   [server role]" in shown
    assert "record digest" in shown
    as_json = json.loads(
        ledger("show", run_id, "--json", cwd=tmp_repo.root, env={"LEDGER_URL": team.urls["carol"]}).stdout
    )["run"]
    assert as_json["owner"] == team.roles["alice"]
    assert [(a["author"], a["kind"], a["value"]) for a in as_json["annotations"]] == [
        (team.roles["alice"], "tag", "baseline"),
        (team.roles["bob"], "tag", "checked"),
        (team.roles["bob"], "note", "looks right"),
    ]
    annotations = shown.split("\nannotations\n")[1].splitlines()
    assert [line.split()[2:] for line in annotations] == [
        [team.roles["alice"], "tagged", "baseline"],
        [team.roles["bob"], "tagged", "checked"],
        [team.roles["bob"], "note:", "looks", "right"],
    ]


# finished records are immutable


def test_the_owner_writes_while_running_and_nobody_once_ended(team: Team) -> None:
    alice, admin = team.store("alice"), team.store("admin")
    try:
        run_id = start(alice, params=[Param("lr", 0.1, "argv")])
        add_points(alice, run_id, {"loss": pts([0, 1], [0.9, 0.5])})
        add_params(alice, run_id, [Param("epochs", 3, "api")])
        end(alice, run_id)
        sealed = snapshot(alice, run_id)

        with pytest.raises(StoreDeniedError):
            add_points(alice, run_id, {"loss": pts([2], [999.0])})
        with pytest.raises(StoreDeniedError):
            add_params(alice, run_id, [Param("lr", 0.5, "api")])
        with pytest.raises(StoreDeniedError, match="has ended"):
            finish_run(alice, run_id, RunEnd(status="failed", ended_at=T0 + 99, exit_code=1))
        with team.sql("alice") as conn:
            refused(conn, "UPDATE runs SET exit_code = 1 WHERE id = %s", run_id)
            unseen(conn, "UPDATE metrics SET value = 0.01 WHERE run_id = %s", run_id)
            unseen(conn, "UPDATE logs SET data = '\\x00' WHERE run_id = %s", run_id)
            refused(conn, "DELETE FROM params WHERE run_id = %s", run_id)  # no writer deletes a record
            refused(
                conn,
                "INSERT INTO metric_chunks (series_id, count, first_step, last_step, codec, payload) "
                "SELECT id, 1, 9, 9, 'x', '\\x00' FROM series WHERE run_id = %s",
                run_id,
            )
        # Not even a superuser edits an ended record (the trigger holds it; RLS alone would not).
        with pytest.raises(StoreDeniedError, match="has ended"), admin.writing() as session:
            session.execute(text("UPDATE runs SET status = 'failed' WHERE id = :id"), {"id": run_id})

        assert snapshot(alice, run_id) == sealed
        assert get_run(alice, run_id).summary.status == "finished"
        assert list(get_series(alice, run_id, "loss").values) == [0.9, 0.5]
    finally:
        alice.close()
        admin.close()


def test_another_writer_cannot_rewrite_or_archive_but_may_annotate(team: Team) -> None:
    alice, bob = team.store("alice"), team.store("bob")
    try:
        running = start(alice)
        add_points(alice, running, {"loss": pts([0], [0.9])})
        ended = start(alice)
        end(alice, ended)
        before = {r: snapshot(alice, r) for r in (running, ended)}

        with team.sql("bob") as conn:
            for run_id in (running, ended):
                message = refused(
                    conn, "UPDATE runs SET status = 'failed', exit_code = 1 WHERE id = %s", run_id
                )
                assert team.roles["alice"] in message or "has ended" in message
            refused(
                conn,
                "INSERT INTO params (run_id, key, kind, text, source) VALUES (%s, 'x', 'int', '1', 'api')",
                running,
            )
            unseen(conn, "UPDATE metrics SET value = 0 WHERE run_id = %s", running)
            refused(conn, "UPDATE runs SET archived = true WHERE id = %s", ended)
            refused(conn, "UPDATE runs SET owner = %s WHERE id = %s", team.roles["bob"], running)
            # a delete is an admin's: bob's DELETE is refused by privilege
            refused(conn, "DELETE FROM runs WHERE id = %s", ended)
        with pytest.raises(StoreDeniedError):
            add_points(bob, running, {"loss": pts([1], [999.0])})
        with pytest.raises(StoreDeniedError, match="needs admin rights"):
            archive.set_archived(bob, [ended])

        add_tags(bob, [ended], ["reviewed"])
        set_note(bob, running, "bob was here")

        assert {r: snapshot(alice, r) for r in (running, ended)} == before
        assert get_run(alice, ended).summary.tags == ("reviewed",)
        assert get_run(alice, running).note == "bob was here"
        assert archive.set_archived(alice, [ended]) == 1  # her own run
    finally:
        alice.close()
        bob.close()


def test_an_admin_archives_anyones_run_and_every_annotation_is_attributed(team: Team) -> None:
    alice, bob, dave = team.store("alice"), team.store("bob"), team.store("dave")
    try:
        run_id = start(alice)
        end(alice, run_id)
        add_tags(bob, [run_id], ["odd"])
        assert archive.set_archived(dave, [run_id]) == 1
        assert archive.set_archived(dave, [run_id], archived=False) == 1
        with team.sql("bob") as conn:
            conn.execute("DELETE FROM tags WHERE run_id = %s", (run_id,))
            # an annotation cannot be forged: the server stamps author and time
            conn.execute(
                "INSERT INTO annotations (run_id, kind, value, author, created_at) VALUES (%s, 'note', 'x', %s, 0)",
                (run_id, team.roles["dave"]),
            )
            refused(conn, "UPDATE annotations SET author = %s", team.roles["dave"])
            refused(conn, "DELETE FROM annotations")
            now = conn.execute("SELECT extract(epoch from now())::float8").fetchone()[0]  # type: ignore[index]
        annotations = get_run(alice, run_id).annotations
    finally:
        alice.close()
        bob.close()
        dave.close()

    assert [(a.author, a.kind, a.value) for a in annotations] == [
        (team.roles["bob"], "tag", "odd"),
        (team.roles["dave"], "archive", None),
        (team.roles["dave"], "unarchive", None),
        (team.roles["bob"], "untag", "odd"),
        (team.roles["bob"], "note", "x"),
    ]
    assert all(now - 60 < a.created_at <= now for a in annotations)


def test_only_the_owner_marks_its_dead_run_crashed_and_others_read_on(team: Team, tmp_path: Path) -> None:
    from ledger.core.procinfo import hostname
    from ledger.delivery.liveness import reap_dead_runs

    child = subprocess.Popen(["true"])  # a process that has surely exited
    child.wait()
    pid = child.pid
    alice, bob = team.store("alice"), team.store("bob")
    try:
        run_id = start(alice, host=hostname(), pid=pid)

        assert reap_dead_runs(bob, tmp_path / "bob-spool") == []
        assert [r.status for r in list_runs(bob)] == ["running"]
        assert reap_dead_runs(alice, tmp_path / "alice-spool") == [run_id]
        detail = get_run(bob, run_id)
        assert detail.summary.status == "crashed"
        assert detail.digest == digest_of(_bundle(bob, run_id), run_id)
    finally:
        alice.close()
        bob.close()


def test_a_commit_recorded_as_a_run_by_a_writer_is_sealed_with_its_results(team: Team) -> None:
    from ledger.commits.runs import CommitRun, record_commit_runs

    alice = team.store("alice")
    try:
        run = NewRun(
            id=new_run_id(),
            source="commit",
            started_at=T0,
            commit="a" * 40,
            status="finished",
            params=[Param("lr", 0.1, "params.yaml")],
        )
        (run_id,) = record_commit_runs(alice, [CommitRun(run, [Metric("acc", 0.9, None, "metrics.json")])])
        detail = get_run(alice, run_id)
        with pytest.raises(StoreDeniedError):
            add_params(alice, run_id, [Param("lr", 0.5, "api")])
    finally:
        alice.close()

    assert detail.summary.status == "finished"
    assert detail.summary.params == {"lr": 0.1}
    assert detail.summary.metrics == {"acc": 0.9}
    assert detail.owner == team.roles["alice"]
    assert detail.digest is not None


def test_only_an_admin_deletes_a_run_and_its_whole_record_goes(team: Team) -> None:
    alice, bob, dave = team.store("alice"), team.store("bob"), team.store("dave")
    try:
        run_id = start(alice, tags=["x"])
        add_points(alice, run_id, {"loss": pts([0], [0.5])})
        end(alice, run_id)
        with pytest.raises(StoreDeniedError):
            archive.delete_runs(alice, [run_id])  # not even its owner
        with pytest.raises(StoreDeniedError):
            archive.delete_runs(bob, [run_id])
        assert [r.id for r in list_runs(bob)] == [run_id]

        assert archive.delete_runs(dave, [run_id]).runs == 1
        with team.sql("admin") as conn:
            left = [
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
                for table in ("runs", "tags", "series", "metric_chunks", "annotations")
            ]
        assert left == [0, 0, 0, 0, 0]
    finally:
        alice.close()
        bob.close()
        dave.close()


def test_a_role_cannot_shadow_the_ledgers_tables_to_fool_its_policies(team: Team) -> None:
    """A temporary `runs` saying "yours, running" must not open someone else's ended record."""
    alice = team.store("alice")
    try:
        run_id = start(alice, params=[Param("lr", 0.1, "argv")])
        end(alice, run_id)
    finally:
        alice.close()
    with team.sql("bob") as conn:
        conn.execute("CREATE TEMP TABLE runs (id text, owner text, status text)")
        conn.execute("INSERT INTO pg_temp.runs VALUES (%s, current_user, 'running')", (run_id,))
        conn.execute(f"SET search_path = pg_temp, {team.schema}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                f"INSERT INTO {team.schema}.params (run_id, key, kind, text, source) "  # noqa: S608
                "VALUES (%s, 'lr2', 'float', '9', 'api')",
                (run_id,),
            )
        conn.execute(f"SET search_path = {team.schema}")
        keys = [k for (k,) in conn.execute("SELECT key FROM params WHERE run_id = %s", (run_id,))]
    assert keys == ["lr"]


# readers


def test_a_reader_lists_and_shows_everything_and_writes_nothing(team: Team) -> None:
    alice, carol = team.store("alice"), team.store("carol")
    try:
        run_id = start(alice, name="alices")
        end(alice, run_id)

        assert [r.id for r in list_runs(carol)] == [run_id]
        assert get_run(carol, run_id).owner == team.roles["alice"]
        for write in (
            lambda: start(carol),
            lambda: add_tags(carol, [run_id], ["mine"]),
            lambda: set_note(carol, run_id, "mine"),
            lambda: archive.set_archived(carol, [run_id]),
        ):
            with pytest.raises(StoreDeniedError):
                write()
        with team.sql("carol") as conn:
            refused(
                conn, "INSERT INTO runs (id, status, source, started_at) VALUES ('x', 'running', 'run', 0)"
            )
            refused(conn, "UPDATE runs SET note = 'x'")
        assert get_run(alice, run_id).note is None
        assert get_run(alice, run_id).summary.tags == ()
    finally:
        alice.close()
        carol.close()


@pytest.mark.parametrize("who", ["carol", "erin"], ids=["reader", "no-rights"])
def test_a_readers_run_trains_and_waits_in_the_local_outbox(team: Team, tmp_repo: TmpRepo, who: str) -> None:
    tmp_repo.gen({"train.py": "import sys\nprint('trained')\nsys.exit(3)\n"})
    tmp_repo.commit("train")

    proc = ledger_process(
        "run",
        "--",
        sys.executable,
        "train.py",
        cwd=tmp_repo.root,
        check=False,
        env={"LEDGER_URL": team.urls[who]},
    )

    assert proc.returncode == 3, proc.stderr
    assert "trained" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("ledger: warning:")]
    assert len(warnings) == 1, proc.stderr
    assert "local outbox" in warnings[0]
    assert "ledger db grant" in warnings[0]
    box = connect(f"sqlite:///{tmp_repo.root / '.git' / 'ledger' / 'outbox.db'}")
    server = team.store("admin")
    try:
        queued = list_runs(box)
        assert [r.status for r in queued] == ["failed"]
        assert list_runs(server) == []
    finally:
        box.close()
        server.close()


def test_a_readers_commit_waits_in_the_inbox_and_the_ingester_stops(team: Team, tmp_repo: TmpRepo) -> None:
    """The server refuses every write: the detached ingester keeps the commit for a later try,
    says so once, and exits, where it would otherwise retry for as long as it ran."""
    from ledger.commits import inbox
    from ledger.git.command import git

    tmp_repo.gen({"metrics.json": '{"acc": 0.9}'})
    tmp_repo.commit("results")
    common = tmp_repo.root / ".git"
    inbox.post_commit(common, git(*inbox.COMMIT_LOG, "HEAD", cwd=tmp_repo.root).encode())

    proc = subprocess.run(
        [sys.executable, "-m", "ledger.commits.ingest", str(tmp_repo.root)],
        env={**os.environ, "LEDGER_URL": team.urls["carol"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert len(inbox.pending(common)) == 1
    failures = inbox.failures(common)
    assert len(failures) == 1, failures[:3]
    assert "cannot ingest" in failures[0]["message"]
    assert "yet" in failures[0]["message"]


# sync carries evidence


def doctor_loss(store: Store, run_id: RunId) -> None:
    """The attack: a finished run's loss series made [999.0, ...] in a local copy, whose
    digest column the forger sets too (sync never reads it from the source)."""
    add_points(store, run_id, {"loss": pts([0, 1, 2, 3, 4], [999.0] * 5)})
    with store.writing() as session:
        session.execute(text("UPDATE runs SET digest = :d WHERE id = :id"), {"d": "f" * 64, "id": run_id})


def test_a_doctored_copy_of_a_finished_run_is_refused_and_the_run_unchanged(
    team: Team, tmp_repo: TmpRepo
) -> None:
    local_path = tmp_repo.root / ".git" / "ledger" / "ledger.db"
    local = connect(f"sqlite:///{local_path}")
    alice = team.store("alice")
    try:
        finished = rich_run(local, name="good")
        crashed = rich_run(local, name="crashed", started_at=T0 + 10, status="crashed")
        ledger("sync", "--to", team.urls["alice"], "--no-progress", cwd=tmp_repo.root)
        sealed = {r: snapshot(alice, r) for r in (finished, crashed)}

        doctor_loss(local, finished)
        with local.writing() as session:
            session.execute(
                text(
                    'UPDATE runs SET status = \'finished\', exit_code = 0, argv = \'["rm", "-rf", "/"]\', '
                    "\"user\" = 'mallory@evil' WHERE id = :id"
                ),
                {"id": crashed},
            )
        add_params(local, crashed, [Param("lr", 9.9, "params.yaml")])
        finish_run(
            local, crashed, RunEnd(status="finished", ended_at=T0, metrics=[Metric("f1", 1.0, None, "m")])
        )
        tidy = rich_run(local, name="new one", started_at=T0 + 20)

        for who in ("alice", "bob"):  # neither the owner nor anyone else
            proc = ledger("sync", "--to", team.urls[who], "--no-progress", cwd=tmp_repo.root, check=False)
            assert proc.returncode == 1
            named = {line.split()[2] for line in proc.stderr.splitlines() if "not copied" in line}
            assert named == {finished, crashed}, proc.stderr
            assert "differs" in proc.stderr

        assert {r: snapshot(alice, r) for r in (finished, crashed)} == sealed
        loss = get_series(alice, finished, "loss")
        assert 999.0 not in list(loss.values)
        assert get_run(alice, crashed).summary.status == "crashed"
        assert get_run(alice, tidy).summary.status == "finished"  # the honest run went through
    finally:
        local.close()
        alice.close()


def test_an_identical_copy_syncs_as_unchanged_and_brings_annotations(team: Team, tmp_path: Path) -> None:
    local = connect(f"sqlite:///{tmp_path / 'l.db'}")
    alice = team.store("alice")
    try:
        run_id = rich_run(local)
        transfer.copy_runs(local, alice, [run_id])
        add_tags(local, [run_id], ["later"])

        report = transfer.copy_runs(local, alice, [run_id])

        assert report.refused == []
        assert "later" in get_run(alice, run_id).summary.tags
        digest = get_run(alice, run_id).digest
        assert digest is not None
        assert digest == digest_of(_bundle(local, run_id), run_id)
    finally:
        local.close()
        alice.close()


def test_a_round_trip_through_sqlite_keeps_the_evidence_of_a_server_run(team: Team, tmp_path: Path) -> None:
    """Sealed on the server, copied home and back: the same record on both engines."""
    alice, bob = team.store("alice"), team.store("bob")
    home = connect(f"sqlite:///{tmp_path / 'home.db'}")
    try:
        run_id = rich_run(alice)
        assert transfer.copy_runs(bob, home, [run_id]).copied == 1

        back = transfer.copy_runs(home, bob, [run_id])

        assert back.refused == []
        assert back.unchanged == 1
        assert get_run(home, run_id).digest == get_run(alice, run_id).digest
    finally:
        alice.close()
        bob.close()
        home.close()


def _bundle(store: Store, run_id: RunId) -> Bundle:
    with store.reading() as session:
        return read_bundle(session, [run_id])


def test_a_run_ended_while_the_server_was_away_is_delivered_by_its_owner_only(
    team: Team, tmp_path: Path
) -> None:
    alice, bob = team.store("alice"), team.store("bob")
    outbox = connect(f"sqlite:///{tmp_path / 'outbox.db'}")
    try:
        run_id = start(alice, params=[Param("lr", 0.1, "argv")])
        add_points(alice, run_id, {"loss": pts([0, 1], [0.9, 0.5])})
        # the server went away: the outbox holds the run as it started, its later points, its end
        transfer.copy_runs(alice, outbox, [run_id])
        add_points(outbox, run_id, {"loss": pts([2, 3], [0.3, 0.2])})
        finish_run(outbox, run_id, RunEnd(status="finished", ended_at=T0 + 60, exit_code=0))

        by_bob = transfer.copy_runs(outbox, bob, [run_id])
        assert [i for i, _ in by_bob.refused] == [run_id]
        assert get_run(alice, run_id).summary.status == "running"

        by_alice = transfer.copy_runs(outbox, alice, [run_id])
        assert by_alice.refused == []
        assert by_alice.updated == 1
        detail = get_run(alice, run_id)
        assert detail.summary.status == "finished"
        assert list(get_series(alice, run_id, "loss").steps) == [0, 1, 2, 3]
        assert detail.digest == digest_of(_bundle(alice, run_id), run_id)
        assert not math.isnan(detail.summary.metrics["loss"])
    finally:
        alice.close()
        bob.close()
        outbox.close()


# granting rights


def test_ledger_db_grant_sets_exactly_one_level(team: Team, tmp_repo: TmpRepo) -> None:
    admin = {"LEDGER_URL": team.urls["admin"]}
    proc = ledger("db", "grant", team.roles["alice"], "--read", cwd=tmp_repo.root, env=admin)
    assert proc.stdout.startswith(f"{team.roles['alice']} may now list and show every run")

    alice = team.store("alice")
    try:
        with pytest.raises(StoreDeniedError):
            start(alice)
        ledger("db", "grant", team.roles["alice"], "--write", cwd=tmp_repo.root, env=admin)
        start(alice)
    finally:
        alice.close()

    by_writer = ledger(
        "db",
        "grant",
        team.roles["carol"],
        "--admin",
        cwd=tmp_repo.root,
        check=False,
        env={"LEDGER_URL": team.urls["bob"]},
    )
    assert by_writer.returncode == 1
    assert by_writer.stderr.count("\n") == 1
    assert "ledger: error:" in by_writer.stderr
    unknown = ledger("db", "grant", "nobody_here", "--read", cwd=tmp_repo.root, check=False, env=admin)
    assert unknown.returncode == 1
    assert "no role 'nobody_here'" in unknown.stderr


# SQLite stays a one-person ledger


def test_a_sqlite_ledger_has_no_owner_no_roles_and_annotates_as_before(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "print('ok')\n"})
    tmp_repo.commit("train")
    ledger_process("run", "--", sys.executable, "train.py", cwd=tmp_repo.root)
    (run,) = runs_json(cwd=tmp_repo.root)
    ledger("tag", run["id"], "keep", cwd=tmp_repo.root)
    ledger("note", run["id"], "-m", "mine", cwd=tmp_repo.root)
    assert ledger("archive", run["id"], cwd=tmp_repo.root).stdout.startswith("archived 1 of 1 run(s)")

    shown = ledger("show", run["id"], cwd=tmp_repo.root).stdout
    grant = ledger("db", "grant", "alice", "--write", cwd=tmp_repo.root, check=False)

    assert "recorded by" not in shown
    assert "annotations" not in shown
    assert "record digest" in shown  # sealed on SQLite too: sync checks it wherever it goes
    assert "keep" in shown
    assert "mine" in shown
    assert grant.returncode == 1
    assert "one user" in grant.stderr
