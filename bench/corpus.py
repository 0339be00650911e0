"""A shared benchmark corpus: a local server folder holding N citizen-survey submissions.

Made once per size in out/bench/server-<N>/ (reused by later runs): the bundled forms are
deployed, a few hundred interviews are filled by JavaRosa from the deployed XForm and posted
over OpenRosa, then replicated with new ids and uuids through the server's bulk path up to N.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl.deploy import deploy_forms  # noqa: E402
from etl.http import HttpClient  # noqa: E402
from etl.kobo import KoboClient  # noqa: E402
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402
from forms.build import build_forms  # noqa: E402

TOKEN = "b" * 40
SEED_INTERVIEWS = 300


def corpus(n: int) -> tuple[Path, str]:
    """Return (server data folder, citizen-survey asset uid), building it when missing."""
    from fieldsim.engine import FormEngine
    from fieldsim.server import LocalServer

    folder = ROOT / "out" / "bench" / f"server-{n}"
    marker = folder / "ready.json"
    if marker.exists():
        return folder, json.loads(marker.read_text())["asset_uid"]
    shutil.rmtree(folder, ignore_errors=True)
    forms_dir = folder / "forms"
    build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, forms_dir, validate=False)
    with LocalServer(folder / "data", token=TOKEN) as server, FormEngine() as engine:
        client = KoboClient(HttpClient(server.api_url, TOKEN))
        deployed = {d.form_id: d for d in deploy_forms(client, forms_dir)}
        uid = deployed["citizen_survey"].asset_uid
        session = requests.Session()
        session.headers["Authorization"] = f"Token {TOKEN}"
        listing = session.get(f"{server.api_url}/formList").text
        xform = folder / "citizen.xml"
        url = listing.split(f"<formID>{uid}</formID>")[1].split("<downloadUrl>")[1].split("</downloadUrl>")[0]
        xform.write_bytes(session.get(url).content)
        for i in range(SEED_INTERVIEWS):
            filled = engine.fill(xform, {"consent": "yes"}, auto=True, seed=i)
            session.post(f"{server.api_url}/submission",
                         files={"xml_submission_file": ("s.xml", filled.xml, "text/xml")}).raise_for_status()
        seeds = [r for page in client.iter_pages(uid) for r in page.records]
        records = []
        for i in range(n - len(seeds)):
            record = dict(seeds[i % len(seeds)])
            new = str(uuid.UUID(int=i + 1))
            record.update({"_uuid": new, "meta/instanceID": f"uuid:{new}", "meta/rootUuid": f"uuid:{new}"})
            record.pop("_validation_status", None)
            record.pop("_submitted_by", None)
            records.append(record)
        server.state.store.insert_records(uid, records, server.username)
    marker.write_text(json.dumps({"asset_uid": uid, "n": n}))
    return folder, uid
