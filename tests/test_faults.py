"""The pipeline's tools on a bad network: the local server with injected gateway errors and dropped
connections (15% each, a fixed seed). ``deploy_forms`` ends with every form deployed exactly once,
although import POSTs are lost both before and after the server started the import; the
simulated field team ends with every instance on the server (the same instance ids, the edits,
deletions and validation statuses of the plan), keeping what it could not send in its outbox and
sending it later, within the run or in a rerun after the phones' network was down."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import shutil
import threading
from collections import Counter

import pytest
import requests
from fixtures.server.training import USERNAME, deployed_world
from kobo_world import T, household_form

from aimak.errors import KoboUnavailableError, SimulationError
from etl.deploy import CREATED, REDEPLOYED, deploy_forms
from etl.http import HttpClient, RetryPolicy
from etl.kobo import KoboClient
from fieldsim import sending
from fieldsim.openrosa_client import OpenRosaClient, ServerUnavailable, SubmissionUnsent
from fieldsim.outbox import Outbox
from fieldsim.server import LocalServer
from fieldsim.server.store import Store
from fieldsim.simulate import simulate
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import build_forms
from forms.xlsform import write_xlsform

java = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17 (java, javac)")

# import_delay 0.3 s < the 0.5 s between polls of an import: every import is seen running once,
# so the number of requests, and with the seed the faults each one meets, are the same every run
FAULTS = "error_rate=0.15,drop_rate=0.15,import_delay=0.3,seed=1"
FAST = RetryPolicy(attempts=7, base=0.005, cap=0.02)
FORM_IDS = [f"household_{i}" for i in range(4)]


def write_forms(folder, version: int) -> None:
    spec = household_form(version)
    for i, form_id in enumerate(FORM_IDS):
        write_xlsform(dataclasses.replace(spec, form_id=form_id, title=T(f"Household {i}")),
                      folder / f"{form_id}.xlsx")


def assets_by_form_id(folder) -> Counter:
    store = Store(folder)
    try:
        rows = store.all("SELECT content, deployed_version_id, version_id, deployment_active "
                         "FROM assets")
    finally:
        store.close()
    deployed = [r for r in rows if r["deployed_version_id"] == r["version_id"]
                and r["deployment_active"]]
    assert len(deployed) == len(rows)  # every asset's current version is deployed and active
    return Counter(json.loads(r["content"])["settings"]["id_string"] for r in rows)


def test_deploy_under_injected_faults__every_form_deployed_exactly_once(tmp_path):
    forms = tmp_path / "forms"
    write_forms(forms, 1)
    lost: list[str] = []
    with LocalServer(tmp_path / "server", faults=FAULTS) as server:
        client = KoboClient(HttpClient(server.api_url, server.token, policy=FAST))
        store, post = server.state.store, client.import_xlsform

        def watched(*args, **kwargs):  # tells apart the two ways an import's answer is lost
            before = store.one("SELECT count(*) AS n FROM imports")["n"]
            try:
                return post(*args, **kwargs)
            except KoboUnavailableError:
                started = store.one("SELECT count(*) AS n FROM imports")["n"] > before
                lost.append("after the import started" if started else "before the server saw it")
                raise

        client.import_xlsform = watched
        first = deploy_forms(client, forms)
        write_forms(forms, 2)  # every form changed: imported over its asset and redeployed
        second = deploy_forms(client, forms)
        retried = client.http.retries
    assert [r.action for r in first] == [CREATED] * len(FORM_IDS)
    assert [r.action for r in second] == [REDEPLOYED] * len(FORM_IDS)
    assert [r.asset_uid for r in first] == [r.asset_uid for r in second]
    assert assets_by_form_id(tmp_path / "server") == Counter({f: 1 for f in FORM_IDS})
    assert set(lost) == {"after the import started", "before the server saw it"}, lost
    assert retried > 10  # the other requests met the faults too


# --- the simulated field team ----------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed_folder(tmp_path_factory):
    """A server data folder with the bundled study's forms deployed (built once; each test
    starts its own server on a copy, so tests never share a server)."""
    root = tmp_path_factory.mktemp("bundled")
    build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, root / "forms", validate=False)
    with LocalServer(root / "server") as server:
        deploy_forms(KoboClient(HttpClient(server.api_url, server.token)), root / "forms")
    return root / "server"


def server_on_copy(deployed_folder, tmp_path, **options) -> LocalServer:
    shutil.copytree(deployed_folder, tmp_path / "server")
    return LocalServer(tmp_path / "server", **options)


def on_server(server, forms: dict[str, str]) -> dict[str, dict[str, str | None]]:
    """form id -> {instance id: validation status} of every record the server holds (read
    without faults, straight from its store)."""
    out: dict[str, dict[str, str | None]] = {}
    for fid, uid in forms.items():
        rows = server.state.store.all("SELECT uuid, validation FROM submissions WHERE asset_uid = ?",
                                      (uid,))
        out[fid] = {f"uuid:{r['uuid']}": json.loads(r["validation"]).get("uid") for r in rows}
    return out


def expected(visits) -> dict[str, dict[str, str | None]]:
    """What the server must hold after the fieldwork: the final version of every visit that was
    not deleted, with its validation status."""
    out: dict[str, dict[str, str | None]] = {}
    for v in visits:
        if not v.deleted:
            out.setdefault(v.form, {})[v.final_instance_id] = v.validation
    return out


@pytest.mark.java
@pytest.mark.slow
@java
def test_simulate_under_injected_faults__every_instance_reaches_the_server(tmp_path,
                                                                           deployed_folder):
    faults = "error_rate=0.15,drop_rate=0.15,seed=5"
    with server_on_copy(deployed_folder, tmp_path, faults=faults) as server:
        result = simulate(server.api_url, server.token, respondents=100, out_dir=tmp_path / "out",
                          send_attempts=2)
        held = on_server(server, result.forms)
    assert held == expected(result.visits)  # every instance id, once, with its status
    assert result.queued > 0 and result.sent_later == result.queued  # the outbox was used, and emptied
    assert result.unsent == [] and not list((tmp_path / "out" / "outbox").iterdir())
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    assert truth["fieldwork"]["unsent"] == []
    assert "unsent" not in result.summary() and "waited in the outbox" in result.summary()


class PhoneNetwork:
    """A proxy the phones talk to: forms are listed and downloaded through it, but while ``down``
    every submission gets 503, as from a gateway whose upstream is unreachable."""

    def __init__(self, upstream: str):
        network = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - the name http.server calls
                answer = requests.get(f"{upstream}{self.path}",
                                      headers={"Authorization": self.headers["Authorization"]})
                self.reply(answer.status_code, answer.content, answer.headers.get("Content-Type"))

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                network.posts += 1
                if network.down:
                    self.reply(503, b"<html>503 Service Unavailable</html>", "text/html")
                    return
                answer = requests.post(f"{upstream}{self.path}", data=body, headers={
                    k: self.headers[k] for k in ("Authorization", "Content-Type",
                                                 "X-OpenRosa-Version")})
                self.reply(answer.status_code, answer.content, answer.headers.get("Content-Type"))

            def reply(self, status: int, body: bytes, kind: str | None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.down, self.posts = True, 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.java
@pytest.mark.slow
@java
def test_simulate_rerun__sends_what_the_phones_kept_while_the_network_was_down(
        tmp_path, deployed_folder, monkeypatch):
    monkeypatch.setattr(sending, "FINAL_ROUNDS", (0.05, 0.05))  # the network stays down anyway
    out = tmp_path / "out"
    with server_on_copy(deployed_folder, tmp_path) as server:
        network = PhoneNetwork(server.api_url)
        try:
            first = simulate(server.api_url, server.token, respondents=60, out_dir=out,
                             openrosa_url=network.url, send_attempts=2)
        finally:
            network.close()
        assert on_server(server, first.forms) == {fid: {} for fid in first.forms}  # nothing arrived
        everything = {v.instance_id for v in first.visits} | {
            v.edit_instance_id for v in first.visits if v.edit_at}
        assert set(first.unsent) == everything == set(Outbox(out / "outbox").instance_ids())
        assert network.posts < len(everything)  # while down, most never tried: they waited
        assert f"unsent: {len(everything)} instance(s) are still in {out / 'outbox'}" in first.summary()
        assert "refused" not in first.summary()
        with pytest.raises(SimulationError, match="run with --seed 2026 --respondents 60"):
            simulate(server.api_url, server.token, respondents=61, out_dir=out)
        again = simulate(server.api_url, server.token, respondents=60, out_dir=out)  # network back
        held = on_server(server, again.forms)
    assert again.resumed and again.unsent == [] and again.sent_later == len(everything)
    assert held == expected(again.visits)  # edits replaced, deletions done, statuses set
    assert again.deleted == 2 and sum(again.validation.values()) > 0
    assert not list((out / "outbox").iterdir())
    assert json.loads(again.truth_path.read_text(encoding="utf-8"))["fieldwork"]["unsent"] == []


def test_submission_given_5xx_after_every_attempt__is_unsent_not_refused(tmp_path):
    with LocalServer(tmp_path / "server") as server:
        network = PhoneNetwork(server.api_url)
        try:
            with (OpenRosaClient(network.url, token=server.token, send_attempts=2) as client,
                  pytest.raises(SubmissionUnsent) as raised):
                client.submit(b"<data id='x'/>", instance_id="uuid:1")
        finally:
            network.close()
    assert network.posts == 2
    assert str(raised.value) == ("submission uuid:1 was not sent: the server gave HTTP 503 after 2 "
                                 "attempt(s); check that it is up and reachable, then run the "
                                 "command again.")


def test_form_download_cut_mid_body__is_fetched_again(tmp_path):
    with deployed_world(tmp_path) as world:  # the training form, deployed on a server without faults
        folder = world.server.state.store.folder
    for attempts, seed in ((1, 1), (5, 1)):
        with LocalServer(folder, username=USERNAME, faults=f"drop_rate=0.5,seed={seed}") as server:
            client = OpenRosaClient(server.openrosa_url, token=server.token, attempts=attempts)
            with client:
                if attempts == 1:  # the seed cuts the first answer: one attempt is not enough
                    with pytest.raises(ServerUnavailable, match="ChunkedEncodingError"):
                        client.download_form(client.form_list()[0], tmp_path / "form.xml")
                    continue
                entry = client.form_list()[0]
                saved = client.download_form(entry, tmp_path / "form.xml")
    assert "md5:" + hashlib.md5(saved.read_bytes()).hexdigest() == entry.hash


@pytest.mark.java
@pytest.mark.slow
@java
def test_simulate_stopped_before_handing_everything_over__rerun_does_it_again_without_duplicates(
        tmp_path, deployed_folder):
    out = tmp_path / "out"
    with server_on_copy(deployed_folder, tmp_path) as server:
        network = PhoneNetwork(server.api_url)
        network.down = False

        def cut_then_stop(stage: str, done: int, total: int) -> None:
            if stage == "submitting" and done == 15:
                network.down = True  # from here on the phones keep what they fill
            if stage == "submitting" and done == 30:
                raise SimulationError("stopped by the test")  # as an error or Ctrl+C would

        try:
            with pytest.raises(SimulationError, match="stopped by the test"):
                simulate(server.api_url, server.token, respondents=40, out_dir=out,
                         openrosa_url=network.url, on_progress=cut_then_stop, send_attempts=1)
        finally:
            network.close()
        arrived = sum(len(ids) for ids in on_server(server, simulate_forms(server)).values())
        kept = len(Outbox(out / "outbox"))
        assert 0 < arrived < 30 and kept > 0  # stopped part-way, some sent, some kept
        again = simulate(server.api_url, server.token, respondents=40, out_dir=out)
        held = on_server(server, again.forms)
    assert not again.resumed and held == expected(again.visits)  # nothing twice, nothing missing
    assert again.duplicates >= arrived and not len(Outbox(out / "outbox"))


def simulate_forms(server) -> dict[str, str]:
    from fieldsim.simulate import discover_forms

    return discover_forms(KoboClient(HttpClient(server.api_url, server.token)))
