"""Attachments: every listed file downloaded once into the folder beside the warehouse and linked
to its submission and question; a second sync downloads nothing; a run killed (SIGKILL) mid-file,
between the move and the row, or after a commit resumes to the same files and rows as a clean
run; an edit's new file is fetched and the old one kept, superseded; deleted
submissions keep their files; a file the server lost (404) is reported, not fatal, and fetched
once it is back; a file not uploaded yet is awaited; older servers (numeric ids, no
question_xpath, links on the kc host) work; redirects elsewhere get no token; the token never
shows; a large file is streamed to disk. No Java: instances are written as ODK Collect does."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from killing import killed_child
from media_world import jpeg, media_world

from aimak.errors import ConfigError
from aimak.settings import load_settings
from etl.attachments import _download, fetch_attachments, listed_files
from etl.http import HttpClient, RetryPolicy
from etl.kobo import KoboClient
from etl.sync import deployed_assets, sync_form
from warehouse.attachments import AttachmentStore
from warehouse.db import connect
from warehouse.store import WarehouseStore

FAST = RetryPolicy(attempts=12, base=0.01, cap=0.05)
FILES = {"office.jpg": jpeg(1), "note.m4a": jpeg(2, 9000), "doc1.jpg": jpeg(3), "doc2.jpg": jpeg(4)}


def client_of(world, **options) -> KoboClient:
    return KoboClient(HttpClient(world.server.api_url, world.server.token, **options))


def sync_all(client: KoboClient, folder: Path, conn=None, confirm_deletions: bool = False):
    """Sync the evidence form into the warehouse in ``folder`` and fetch its files; return the
    open connection and the attachment result."""
    conn = conn or connect(folder / "w.duckdb")
    asset = deployed_assets(client)[0]
    sync_form(client, WarehouseStore(conn, folder / "landing"), asset,
              confirm_deletions=confirm_deletions)
    return conn, fetch_attachments(client, AttachmentStore(conn, folder), asset)


def rows(conn) -> list[tuple]:
    return conn.execute("""SELECT _id, _uuid, basename, attachment_uid, question_xpath, question,
        mimetype, size, sha256, local_path, superseded_at IS NOT NULL FROM attachments
        ORDER BY ALL""").fetchall()


def on_disk(folder: Path) -> dict[str, str]:
    """Every file under attachments/ (path relative to the warehouse folder -> SHA-256)."""
    root = folder / "attachments"
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


def snapshot(conn, folder: Path) -> tuple:
    checks = conn.execute("SELECT asset_uid, _id, _uuid FROM attachment_checks ORDER BY ALL").fetchall()
    return rows(conn), checks, on_disk(folder)


def send_evidence(world) -> None:
    world.submit(photo="office.jpg", voice="note.m4a", docs=[("Budget", "doc1.jpg"), ("Minutes", "doc2.jpg")],
                 files=dict(FILES))
    world.submit(photo="door.jpg", docs=[("Plan", None)], files={"door.jpg": jpeg(5)})
    world.submit(village="No files at all")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server with the evidence form and three submissions (five files); not changed by tests."""
    with media_world(tmp_path_factory.mktemp("media")) as w:
        send_evidence(w)
        yield w


def test_first_sync__each_file_downloaded_and_linked_to_its_submission_and_question(world, tmp_path):
    conn, result = sync_all(client_of(world), tmp_path)
    assert (result.downloaded, result.present, result.failed, result.awaited) == (5, 0, 0, 0)
    assert result.bytes == sum(len(b) for b in FILES.values()) + len(jpeg(5))
    got = {r[2]: r for r in rows(conn)}
    assert set(got) == {*FILES, "door.jpg"}
    first = conn.execute("SELECT _id, _uuid FROM raw_submissions ORDER BY _id LIMIT 1").fetchone()
    assert {r[:2] for name, r in got.items() if name in FILES} == {first}
    assert [(got[n][4], got[n][5]) for n in ("office.jpg", "note.m4a", "doc1.jpg", "doc2.jpg")] == [
        ("site/photo", "site/photo"), ("voice", "voice"),
        ("docs[1]/doc_photo", "docs/doc_photo"), ("docs[2]/doc_photo", "docs/doc_photo")]
    assert got["office.jpg"][6] == "image/jpeg" and got["note.m4a"][6].startswith("audio/")
    for name, data in FILES.items():
        _id, _uuid, _b, att, _x, _q, _m, size, sha, path, superseded = got[name]
        assert att.startswith("att") and size == len(data) and not superseded
        assert sha == hashlib.sha256(data).hexdigest()
        assert path == f"attachments/{world.uid}/{_id}/{name}" and (tmp_path / path).read_bytes() == data
    assert conn.execute("SELECT count(*) FROM attachment_checks").fetchone() == (3,)
    assert "5 downloaded" in result.summary() and "0 failed" in result.summary()
    conn.close()


def test_second_sync__downloads_nothing_then_only_a_new_submission_s_files(tmp_path):
    with media_world(tmp_path / "server") as w:
        send_evidence(w)
        client = client_of(w)
        conn, _ = sync_all(client, tmp_path / "w")
        before = snapshot(conn, tmp_path / "w")
        fetched: list[str] = []
        download = client.http.download
        client.http.download = lambda url, target: fetched.append(url) or download(url, target)
        _, again = sync_all(client, tmp_path / "w", conn)
        assert fetched == [] and (again.downloaded, again.present, again.failed) == (0, 0, 0)
        assert snapshot(conn, tmp_path / "w") == before
        w.submit(photo="later.jpg", files={"later.jpg": jpeg(9)})
        _, third = sync_all(client, tmp_path / "w", conn)
        assert third.downloaded == 1 and len(fetched) == 1
        assert [r[2] for r in rows(conn) if r[0] == 4] == ["later.jpg"]
        conn.close()


def test_edited_submission__new_file_fetched_old_one_kept_and_superseded(tmp_path):
    with media_world(tmp_path / "server") as w:
        original = w.submit(photo="before.jpg", docs=[("Budget", "doc.jpg")],
                            files={"before.jpg": jpeg(1), "doc.jpg": jpeg(2)})
        client = client_of(w)
        folder = tmp_path / "w"
        conn, _ = sync_all(client, folder)
        # the enumerator retakes the office photo; the document photo is not sent again
        edited = w.submit(photo="after.jpg", docs=[("Budget", "doc.jpg")], files={"after.jpg": jpeg(3)},
                          deprecated_id=original)
        _, result = sync_all(client, folder, conn)
        assert (result.downloaded, result.present, result.superseded) == (1, 1, 1)
        state = {r[2]: (r[1], r[10]) for r in rows(conn)}
        assert state == {"before.jpg": (original[5:], True), "doc.jpg": (original[5:], False),
                         "after.jpg": (edited[5:], False)}
        assert (folder / f"attachments/{w.uid}/1/before.jpg").read_bytes() == jpeg(1)  # kept
        assert (folder / f"attachments/{w.uid}/1/after.jpg").read_bytes() == jpeg(3)
        conn.close()


def test_deleted_submission__its_files_and_rows_kept(tmp_path):
    with media_world(tmp_path / "server") as w:
        w.submit(photo="gone.jpg", files={"gone.jpg": jpeg(1)})
        client = client_of(w)
        folder = tmp_path / "w"
        conn, _ = sync_all(client, folder)
        before = snapshot(conn, folder)
        client.http.request("DELETE", f"api/v2/assets/{w.uid}/data/1/", parse_json=False)
        # the form's only submission deleted: more than half, so the data manager confirms it
        _, result = sync_all(client, folder, conn, confirm_deletions=True)
        assert conn.execute("SELECT deleted_at IS NOT NULL FROM raw_submissions").fetchone() == (True,)
        assert snapshot(conn, folder) == before and result.failed == 0
        assert (folder / f"attachments/{w.uid}/1/gone.jpg").read_bytes() == jpeg(1)
        conn.close()


def test_file_missing_on_the_server__404_reported_others_kept_fetched_once_back(tmp_path):
    with media_world(tmp_path / "server") as w:
        w.submit(photo="lost.jpg", voice="kept.m4a", files={"lost.jpg": jpeg(1), "kept.m4a": jpeg(2)})
        lost = next((tmp_path / "server" / "server" / "media").rglob("lost.jpg"))
        aside = tmp_path / "aside.jpg"
        shutil.move(lost, aside)
        client = client_of(w)
        folder = tmp_path / "w"
        conn, result = sync_all(client, folder)
        assert (result.downloaded, result.failed, result.stopped) == (1, 1, None)
        assert result.problems == ["evidence _id 1 'lost.jpg' (site/photo): not on the server "
                                   "(HTTP 404); tried again at the next sync"]
        assert "1 failed" in result.summary() and "lost.jpg" in result.summary()
        assert [r[2] for r in rows(conn)] == ["kept.m4a"]
        assert conn.execute("SELECT count(*) FROM attachment_checks").fetchone() == (0,)  # not settled
        shutil.move(aside, lost)
        _, again = sync_all(client, folder, conn)
        assert (again.downloaded, again.present, again.failed) == (1, 1, 0)
        assert conn.execute("SELECT count(*) FROM attachment_checks").fetchone() == (1,)
        conn.close()


def test_file_not_uploaded_yet__awaited_then_fetched_when_it_arrives(tmp_path):
    with media_world(tmp_path / "server") as w:
        instance_id = "uuid:6f1d0c55-2b7c-4b8e-9a65-0d1f4c3f9a11"
        xml = w.instance(instance_id=instance_id, photo="office.jpg", voice="big.m4a")
        w.send(xml, {"office.jpg": jpeg(1)})  # ODK Collect sends a large submission in parts
        client = client_of(w)
        folder = tmp_path / "w"
        conn, result = sync_all(client, folder)
        assert (result.downloaded, result.awaited) == (1, 1)
        assert conn.execute("SELECT count(*) FROM attachment_checks").fetchone() == (0,)
        w.send(xml, {"big.m4a": jpeg(2, 20000)})  # the second part: same instance, the rest
        _, later = sync_all(client, folder, conn)  # the record's _uuid did not change
        assert (later.downloaded, later.present, later.awaited) == (1, 1, 0)
        assert sorted(r[2] for r in rows(conn)) == ["big.m4a", "office.jpg"]
        assert conn.execute("SELECT count(*) FROM attachment_checks").fetchone() == (1,)
        conn.close()


def test_legacy_server__numeric_ids_and_question_found_by_the_answer(world, tmp_path):
    from fieldsim.server import LocalServer

    folder = world.server.state.store.folder
    current, _ = sync_all(client_of(world), tmp_path / "current")
    with LocalServer(folder, token=world.server.token, legacy=True, username=world.server.username,
                     password=world.server.password) as old:
        client = KoboClient(HttpClient(old.api_url, old.token))
        record = client.http.get_json(f"api/v2/assets/{world.uid}/data/", format="json")["results"][0]
        assert "question_xpath" not in record["_attachments"][0] and "uid" not in record["_attachments"][0]
        conn, result = sync_all(client, tmp_path / "legacy")
    assert result.downloaded == 5
    numeric = {r[2]: r[3] for r in rows(conn)}
    assert all(v.isdigit() for v in numeric.values())

    def without_ids(rows_):
        return [r[:3] + r[4:] for r in rows_]

    assert without_ids(rows(conn)) == without_ids(rows(current))  # same questions, files, paths
    assert on_disk(tmp_path / "legacy") == on_disk(tmp_path / "current")
    conn.close(), current.close()


def test_links_on_another_host__fetched_from_kobo_url_s_attachment_endpoint_with_the_token(requests_mock,
                                                                                           tmp_path):
    http = HttpClient("https://kf.example.org", "0" * 40, policy=FAST, sleep=lambda s: None)
    record = {"_id": 7, "site/photo": "a b.jpg", "_attachments": [
        {"download_url": "https://kc.example.org/media/original?media_file=u/attachments/x/a_b.jpg",
         "filename": "u/attachments/x/y/a_b.jpg", "mimetype": "image/jpeg", "id": 991},
        {"download_url": "https://kf.example.org/api/v2/assets/aX/data/7/attachments/attZ/?format=json",
         "media_file_basename": "b.jpg", "uid": "attZ", "is_deleted": False, "question_xpath": "voice"},
        {"download_url": "https://kf.example.org/gone/", "media_file_basename": "c.jpg", "uid": "attD",
         "is_deleted": True}]}
    listed = listed_files(http, "aX", 7, record)
    assert [(i.basename, i.url, i.question_xpath, i.endpoint) for i in listed] == [
        ("a_b.jpg", "api/v2/assets/aX/data/7/attachments/991/", "site/photo", None),  # cleaned name matched
        ("b.jpg", "https://kf.example.org/api/v2/assets/aX/data/7/attachments/attZ/?format=json", "voice",
         "api/v2/assets/aX/data/7/attachments/attZ/")]
    requests_mock.get("https://kf.example.org/api/v2/assets/aX/data/7/attachments/991/", content=b"x")
    kc = requests_mock.get("https://kc.example.org/media/original", content=b"x")
    http.download(listed[0].url, tmp_path / "a_b.jpg")
    assert not kc.called
    assert requests_mock.request_history[0].headers["Authorization"] == "Token " + "0" * 40


def test_link_as_given_refused__the_documented_endpoint_of_the_same_file_tried(requests_mock, tmp_path):
    class Store:  # keeps nothing: only the download is under test
        def scratch(self):
            return tmp_path / "scratch"

        def keep(self, scratch, *args, **kwargs):
            return scratch

    http = HttpClient("https://kf.example.org", "2" * 40, policy=FAST, sleep=lambda s: None)
    given = "https://kf.example.org/api/v2/assets/aX/data/7/attachments/attZ/?format=json"
    requests_mock.get(given, status_code=404, json={"detail": "Not found."})
    requests_mock.get("https://kf.example.org/api/v2/assets/aX/data/7/attachments/attZ/", content=b"voice",
                      complete_qs=True)
    [item] = listed_files(http, "aX", 7, {"_attachments": [
        {"download_url": given, "media_file_basename": "b.m4a", "uid": "attZ", "question_xpath": "voice"}]})
    assert _download(KoboClient(http), Store(), "aX", 7, "u1", item) == 5
    assert (tmp_path / "scratch").read_bytes() == b"voice"
    assert [r.url for r in requests_mock.request_history] == [
        given, "https://kf.example.org/api/v2/assets/aX/data/7/attachments/attZ/"]


def test_redirect_to_another_host__followed_without_the_token(requests_mock, tmp_path):
    token = "1" * 40
    http = HttpClient("https://kf.example.org", token, policy=FAST, sleep=lambda s: None)
    signed = "https://bucket.example.com/a.jpg?X-Amz-Signature=abc"
    requests_mock.get("https://kf.example.org/api/v2/assets/aX/data/7/attachments/attA/",
                      status_code=302, headers={"Location": signed})
    bucket = requests_mock.get(signed, content=b"photo bytes")
    got = http.download("api/v2/assets/aX/data/7/attachments/attA/", tmp_path / "a.jpg")
    assert (tmp_path / "a.jpg").read_bytes() == b"photo bytes" and got.size == 11
    assert requests_mock.request_history[0].headers["Authorization"] == f"Token {token}"
    assert "Authorization" not in bucket.last_request.headers


def test_faults__dropped_and_failed_downloads_retried_same_files_retries_counted(world, tmp_path):
    from fieldsim.server import LocalServer

    clean, _ = sync_all(client_of(world), tmp_path / "clean")
    with LocalServer(world.server.state.store.folder, token=world.server.token, username=world.server.username,
                     password=world.server.password, faults="error_rate=0.3,drop_rate=0.3,seed=3") as faulty:
        client = KoboClient(HttpClient(faulty.api_url, faulty.token, policy=FAST))
        conn, result = sync_all(client, tmp_path / "faulty")
    assert result.failed == 0 and result.downloaded == 5 and result.retries > 0
    assert f"{result.retries} retries" in result.summary()
    assert rows(conn) == rows(clean) and on_disk(tmp_path / "faulty") == on_disk(tmp_path / "clean")
    conn.close(), clean.close()


def gone_server(world) -> KoboClient:
    """A client whose KOBO_URL answers nothing (the server went away), retrying briefly."""
    return KoboClient(HttpClient("http://127.0.0.1:9", world.server.token,
                                 policy=RetryPolicy(attempts=2, base=0.001, cap=0.001)))


def test_server_gone_mid_run__stops_after_three_files_and_fetches_them_next_time(world, tmp_path):
    conn = connect(tmp_path / "w.duckdb")
    asset = deployed_assets(client_of(world))[0]
    sync_form(client_of(world), WarehouseStore(conn, tmp_path / "landing"), asset)
    down = fetch_attachments(gone_server(world), AttachmentStore(conn, tmp_path), asset)
    assert (down.downloaded, down.failed, down.retries) == (0, 3, 3)
    assert "stopped after 3 files in a row failed (KoboUnavailableError)" in down.summary()
    assert rows(conn) == [] and conn.execute("SELECT count(*) FROM attachment_checks").fetchone() == (0,)
    back = fetch_attachments(client_of(world), AttachmentStore(conn, tmp_path), asset)
    assert (back.downloaded, back.failed) == (5, 0)
    conn.close()


def test_token__absent_from_every_log_line_problem_and_summary(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with media_world(tmp_path / "server") as w:
        token = w.server.token
        w.submit(photo="lost.jpg", voice="v.m4a", files={"lost.jpg": jpeg(1), "v.m4a": jpeg(2)})
        next((tmp_path / "server" / "server" / "media").rglob("lost.jpg")).unlink()
        conn, lost = sync_all(client_of(w), tmp_path / "w")  # a 404
        conn.execute("DELETE FROM attachments")
        asset = deployed_assets(client_of(w))[0]
        down = fetch_attachments(gone_server(w), AttachmentStore(conn, tmp_path / "w"), asset)
    assert lost.failed == 1 and down.failed == 2
    shown = "\n".join([lost.summary(), down.summary(), *lost.problems, *down.problems, caplog.text])
    assert "HTTP 404" in shown and "failed after 2 attempt(s)" in shown
    assert "connection refused" in shown
    assert token not in shown and "Token " not in shown
    conn.close()


def test_large_file__streamed_to_disk_not_held_in_memory(tmp_path):
    big = os.urandom(1 << 20) * 24  # 24 MiB
    with media_world(tmp_path / "server") as w:
        w.submit(voice="interview.m4a", files={"interview.m4a": big})
        client = client_of(w)
        folder = tmp_path / "w"
        conn = connect(folder / "w.duckdb")
        asset = deployed_assets(client)[0]
        sync_form(client, WarehouseStore(conn, folder / "landing"), asset)
        tracemalloc.start()
        result = fetch_attachments(client, AttachmentStore(conn, folder), asset)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result.downloaded == 1 and result.bytes == len(big)
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB of Python memory for a 24 MiB file"
    assert hashlib.sha256((folder / f"attachments/{w.uid}/1/interview.m4a").read_bytes()).digest() == \
        hashlib.sha256(big).digest()
    conn.close()


def test_keep__a_file_in_place_that_aimak_did_not_write_is_never_replaced(tmp_path):
    conn = connect(tmp_path / "w.duckdb")
    store = AttachmentStore(conn, tmp_path)
    store.begin()
    mine = tmp_path / "attachments" / "aX" / "7" / "a.jpg"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"someone else's file")
    scratch = store.scratch()
    scratch.write_bytes(b"downloaded")
    kept = store.keep(scratch, "aX", 7, "u1", basename="a.jpg", attachment_uid="attA", question_xpath=None,
                      mimetype="image/jpeg", size=10, sha256=hashlib.sha256(b"downloaded").hexdigest())
    assert mine.read_bytes() == b"someone else's file" and kept.read_bytes() == b"downloaded"
    assert kept.name.startswith("a__") and kept.suffix == ".jpg"
    odd = store.scratch()
    odd.write_bytes(b"x")
    path = store.keep(odd, "aX", 7, "u1", basename="../..\\evil:name?.jpg", attachment_uid=None,
                      question_xpath=None, mimetype=None, size=1, sha256=hashlib.sha256(b"x").hexdigest())
    assert path.parent == mine.parent and path.read_bytes() == b"x" and path.name.endswith("evil_name_.jpg")
    conn.close()


def test_setting__aimak_attachments_on_off_and_a_bad_value_named(tmp_path):
    nowhere = tmp_path / "none.toml"
    assert load_settings({}, nowhere).attachments is False
    assert load_settings({"AIMAK_ATTACHMENTS": "1"}, nowhere).attachments is True
    assert load_settings({"AIMAK_ATTACHMENTS": "off"}, nowhere).attachments is False
    toml = tmp_path / "aimak.toml"
    toml.write_text("aimak_attachments = true\n", encoding="utf-8")
    assert load_settings({}, toml).attachments is True
    assert load_settings({"AIMAK_ATTACHMENTS": "0"}, toml).attachments is False  # environment wins
    with pytest.raises(ConfigError, match="AIMAK_ATTACHMENTS.*'maybe'"):
        load_settings({"AIMAK_ATTACHMENTS": "maybe"}, nowhere)


def test_cli__sync_has_the_attachments_option():
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["sync", "--help"])
    assert result.exit_code == 0 and "--attachments" in result.output and "AIMAK_ATTACHMENTS" in result.output


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import etl.http
    from etl.attachments import fetch_attachments
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from etl.sync import deployed_assets
    from warehouse.attachments import AttachmentStore
    from warehouse.db import connect

    url, token, folder, point, batch = sys.argv[1:6]
    where, _, nth = point.partition(":")
    nth = int(nth)
    etl.http.CHUNK = 1024  # several chunks per file, so a kill can land inside one
    count = {"download": 0, "kept": 0, "committed": 0}

    def reached(marker):
        print(marker, flush=True)
        sys.stdin.readline()  # the test kills this process here
        raise SystemExit("not killed")

    real_save = etl.http._save
    def save(response, target):
        count["download"] += 1
        chunks = response.iter_content
        def some(size):
            for i, chunk in enumerate(chunks(size)):
                yield chunk
                if where == "download" and count["download"] == nth and i == 1:
                    reached(f"inside download {nth}")
        response.iter_content = some
        return real_save(response, target)
    etl.http._save = save

    class Store(AttachmentStore):
        def keep(self, *args, **kwargs):
            out = super().keep(*args, **kwargs)
            count["kept"] += 1
            if where == "kept" and count["kept"] == nth:
                reached(f"kept {nth}")
            return out
        def commit(self, *args):
            out = super().commit(*args)
            count["committed"] += 1
            if where == "committed" and count["committed"] == nth:
                reached(f"committed {nth}")
            return out

    client = KoboClient(HttpClient(url, token))
    conn = connect(Path(folder) / "w.duckdb")
    fetch_attachments(client, Store(conn, Path(folder)), deployed_assets(client)[0], batch=int(batch))
    print("finished", flush=True)
""")

KILL_POINTS = [  # where the child is killed, submissions per batch, what it printed there
    ("download:3", 200, "inside download 3"),  # mid-file, in the first submission
    ("kept:4", 200, "kept 4"),  # every file of the first submission in place, none recorded yet
    ("committed:1", 1, "committed 1"),  # the first submission recorded and checked
    ("download:5", 1, "inside download 5"),  # then mid-file in the second submission
]


@pytest.mark.parametrize(("point", "batch", "marker"), KILL_POINTS, ids=[p for p, _b, _m in KILL_POINTS])
def test_killed_mid_download_and_resumed__same_files_and_rows_as_a_clean_run(world, tmp_path, point, batch,
                                                                             marker):
    clean, _ = sync_all(client_of(world), tmp_path / "clean")
    expected = snapshot(clean, tmp_path / "clean")
    clean.close()
    folder = tmp_path / "killed"
    conn = connect(folder / "w.duckdb")
    sync_form(client_of(world), WarehouseStore(conn, folder / "landing"), deployed_assets(client_of(world))[0])
    conn.close()

    said = killed_child(KILL_SCRIPT, world.server.api_url, world.server.token, str(folder), point, str(batch))
    assert said == marker

    conn = connect(folder / "w.duckdb")
    files = {path for path in on_disk(folder) if "/.partial/" not in path}
    recorded = {r[9] for r in rows(conn)}
    assert recorded <= files  # no row without its file
    in_place = {"download:3": 2, "kept:4": 4}.get(point, 0)  # moved in place, not recorded yet
    assert files - recorded == {f"attachments/{world.uid}/1/{name}" for name in list(FILES)[:in_place]}
    assert all(on_disk(folder)[r[9]] == r[8] for r in rows(conn))  # no half file under a real name
    assert snapshot(conn, folder) != expected
    asset = deployed_assets(client_of(world))[0]
    resumed = fetch_attachments(client_of(world), AttachmentStore(conn, folder), asset)
    assert resumed.failed == 0
    assert snapshot(conn, folder) == expected  # .partial emptied, same rows, same files
    conn.close()
