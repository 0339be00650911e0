"""Forms deployed to the local server and instances written by hand and posted over OpenRosa:
for warehouse tests that need a real server's answers but not JavaRosa."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import requests

from etl.kobo import KoboClient
from forms.definition import Text
from forms.xlsform import ChoiceRow, FormSpec, Row, write_xlsform


def T(text: str) -> Text:
    return Text(text, text, text)


def spec(form_id: str, survey: list[Row], choices: list[ChoiceRow] = ()) -> FormSpec:
    return FormSpec(form_id, T(form_id), "en", list(survey), list(choices))


def deploy(client: KoboClient, form: FormSpec, folder: Path, uid: str | None = None) -> str:
    """Import ``form`` as a new asset (or over asset ``uid``) and deploy it; return the uid."""
    path = folder / f"{form.form_id}-{time.monotonic_ns()}.xlsx"
    write_xlsform(form, path)
    uid = client.wait_import(client.import_xlsform(path, form.form_id, uid), poll=0.05)
    asset = client.asset(uid)
    if asset.get("deployed_version_id"):
        client.redeploy(uid, asset["version_id"])
    else:
        client.deploy(uid)
    return uid


class Poster:
    """Posts instances written by hand to the server, as a phone would."""

    def __init__(self, server, client: KoboClient):
        self.server, self.client = server, client
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {server.token}"

    def post(self, uid: str, answers: dict[str, Any], *, edits: str | None = None,
             meta: dict[str, str] | None = None) -> str:
        """Send one instance of the deployed version of ``uid``: ``answers`` nested like the
        instance (a dict is a group, a list of dicts a repeat); ``edits``: the instanceID this
        one replaces. Return the new instanceID."""
        version = self.client.asset(uid)["deployed_version_id"]
        root = ET.Element(uid, {"id": uid, "version": version})
        _put(root, answers)
        ET.SubElement(root, "__version__").text = version
        instance_id = f"uuid:{uuid.uuid4()}"
        node = ET.SubElement(root, "meta")
        for key, value in (meta or {}).items():
            ET.SubElement(node, key).text = value
        ET.SubElement(node, "instanceID").text = instance_id
        if edits:
            ET.SubElement(node, "deprecatedID").text = edits
        response = self.session.post(f"{self.server.openrosa_url}/submission", files={
            "xml_submission_file": ("submission.xml", ET.tostring(root), "text/xml")})
        assert response.status_code in (201, 202), response.text
        return instance_id


def _put(parent: ET.Element, answers: dict[str, Any]) -> None:
    for name, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            child = ET.SubElement(parent, name)
            if isinstance(item, dict):
                _put(child, item)
            else:
                child.text = str(item)
