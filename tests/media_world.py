"""A small evidence form with files (a photo in a group, an audio note, a photo in each entry of a
repeat) on the local server, and instances sent as ODK Collect sends them (no Java): shared by
the attachment tests."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import requests
import xlsxwriter
from fixtures.server.training import PASSWORD, USERNAME, calculated, deployed_xform, import_form
from requests.auth import HTTPDigestAuth

from fieldsim.server import LocalServer

FORM_ID = "evidence"
SURVEY = [  # type, name, label
    ("text", "village", "Village"),
    ("begin_group", "site", "Site"),
    ("image", "photo", "Photo of the office"),
    ("end_group", "", ""),
    ("audio", "voice", "Voice note"),
    ("begin_repeat", "docs", "Document"),
    ("text", "doc_title", "Title"),
    ("image", "doc_photo", "Photo of the document"),
    ("end_repeat", "", ""),
]


def write_form(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    survey = book.add_worksheet("survey")
    survey.write_row(0, 0, ["type", "name", "label"])
    for i, row in enumerate(SURVEY, start=1):
        survey.write_row(i, 0, list(row))
    settings = book.add_worksheet("settings")
    settings.write_row(0, 0, ["form_id", "form_title"])
    settings.write_row(1, 0, [FORM_ID, "LSG evidence"])
    book.close()
    return path


def jpeg(seed: int, size: int = 3000) -> bytes:
    """Bytes that stand for a photo, different for every seed."""
    block = uuid.UUID(int=seed).bytes
    return b"\xff\xd8\xff\xe0" + (block * (size // len(block) + 1))[:size]


@dataclass
class MediaWorld:
    server: LocalServer
    uid: str
    xform: str
    auth: HTTPDigestAuth

    def instance(self, *, instance_id: str, photo: str | None = None, voice: str | None = None,
                 docs: list[tuple[str, str | None]] = (), deprecated_id: str | None = None,
                 village: str = "Ак-Жар") -> bytes:
        """An instance of the deployed evidence form, as ODK Collect writes it."""
        fh, version = calculated(self.xform, "uuid"), calculated(self.xform, "__version__")
        parts = [f'<?xml version="1.0" ?><{self.uid} id="{self.uid}" version="1">',
                 f"<formhub><uuid>{fh}</uuid></formhub><village>{escape(village)}</village>",
                 f"<site><photo>{photo or ''}</photo></site><voice>{voice or ''}</voice>"]
        parts += [f"<docs><doc_title>{escape(title)}</doc_title><doc_photo>{name or ''}</doc_photo></docs>"
                  for title, name in docs]
        parts.append(f"<__version__>{version}</__version__><meta><instanceID>{instance_id}</instanceID>")
        if deprecated_id:
            parts.append(f"<deprecatedID>{deprecated_id}</deprecatedID>")
        parts.append(f"</meta></{self.uid}>")
        return "".join(parts).encode()

    def send(self, xml: bytes, files: dict[str, bytes] | None = None) -> None:
        """POST an instance with its files over OpenRosa; it must be accepted."""
        parts = {"xml_submission_file": ("submission.xml", xml, "text/xml")}
        for name, data in (files or {}).items():
            parts[name] = (name, data, "application/octet-stream")
        response = requests.post(f"{self.server.openrosa_url}/submission", files=parts,
                                 auth=self.auth, headers={"X-OpenRosa-Version": "1.0"})
        assert response.status_code == 201, response.text

    def submit(self, *, photo: str | None = None, voice: str | None = None,
               docs: list[tuple[str, str | None]] = (), files: dict[str, bytes] | None = None,
               deprecated_id: str | None = None, village: str = "Ак-Жар") -> str:
        """Send a new submission (or an edit of ``deprecated_id``); return its instanceID."""
        instance_id = f"uuid:{uuid.uuid4()}"
        self.send(self.instance(instance_id=instance_id, photo=photo, voice=voice, docs=docs,
                                deprecated_id=deprecated_id, village=village), files)
        return instance_id


@contextmanager
def media_world(folder: Path, **server_options):
    """A local server with the evidence form imported and deployed."""
    with LocalServer(folder / "server", username=USERNAME, password=PASSWORD, **server_options) as server:
        _, task = import_form(server.api_url, server.token, write_form(folder / f"{FORM_ID}.xlsx"))
        assert task["status"] == "complete", task
        uid = task["messages"]["created"][0]["uid"]
        requests.post(f"{server.api_url}/api/v2/assets/{uid}/deployment/",
                      headers={"Authorization": f"Token {server.token}"},
                      json={"active": True}).raise_for_status()
        auth = HTTPDigestAuth(USERNAME, PASSWORD)
        yield MediaWorld(server, uid, deployed_xform(server.api_url, auth, uid), auth)
