"""The OpenRosa side (what ODK Collect / KoboCollect talk to): formList, form download, manifest,
and ``POST /submission`` with KoboToolbox's status codes and headers."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fieldsim.server import ids
from fieldsim.server.assets import book_content
from fieldsim.server.auth import AuthFailure
from fieldsim.server.instance import InstanceError, _local, first_geopoint, flatten, to_json

if TYPE_CHECKING:
    from fieldsim.server.state import Server

MEDIA_TYPES = {"image", "audio", "video", "file", "background-audio", "audit"}


class ConflictingFile(Exception):
    """A file of the same name but other bytes is already stored for the submission (409)."""


def dict_to_xml(form_id: str, answers: dict[str, Any]) -> bytes:
    """A JSON submission as the instance XML kpi builds from it (``dict2xform``)."""
    root = ET.Element(form_id, {"id": form_id})

    def fill(parent: ET.Element, value: Any) -> None:
        for key, item in value.items():
            for entry in item if isinstance(item, list) else [item]:
                child = ET.SubElement(parent, key)
                if isinstance(entry, dict):
                    fill(child, entry)
                elif entry is not None:
                    child.text = str(entry)

    fill(root, answers)
    return ET.tostring(root, encoding="utf-8")


_BOUNDARY = re.compile(r'boundary=(?:"([^"\\]+)"|([^;\s"]+))', re.IGNORECASE)
_DISPOSITION = re.compile(rb'form-data((?:\s*;\s*(?:name|filename)="[^"\\\r\n]*")+)\s*;?\s*', re.IGNORECASE)
_PARAM = re.compile(rb'\s*;\s*(name|filename)="([^"\\\r\n]*)"', re.IGNORECASE)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]] | None:
    """The parts of a plain ``multipart/form-data`` body as (field name, file name or None,
    bytes), the shape ODK Collect sends, without the streaming parser's per-byte callbacks.

    Returns None for anything less plain (a preamble, quoted-pair escapes or ``filename*``,
    a part without its ``Content-Disposition``, no closing delimiter): the caller then reads
    the body with Starlette's full parser, so such bodies are read exactly as before.
    """
    if content_type.partition(";")[0].strip().lower() != "multipart/form-data":
        return None
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    delimiter = b"\r\n--" + (found.group(1) or found.group(2)).encode("latin-1")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 3 or pieces[0] or not pieces[-1].startswith(b"--"):
        return None
    parts = []
    for piece in pieces[1:-1]:
        if piece[:2] != b"\r\n":
            return None
        head, blank, data = piece[2:].partition(b"\r\n\r\n")
        if not blank:
            return None
        params = None
        for line in head.split(b"\r\n"):
            key, colon, value = line.partition(b":")
            if not colon:
                return None
            if key.strip().lower() == b"content-disposition":
                disposition = _DISPOSITION.fullmatch(value.strip())
                if disposition is None or params is not None:
                    return None
                params = {k.lower(): v for k, v in _PARAM.findall(disposition.group(1))}
        if params is None or b"name" not in params:
            return None
        filename = params.get(b"filename")
        parts.append((_text(params[b"name"]), None if filename is None else _text(filename), data))
    return parts


def headers() -> dict[str, str]:
    return {"X-OpenRosa-Version": "1.0", "X-OpenRosa-Accept-Content-Length": "10000000",
            "Date": formatdate(usegmt=True)}


def message(text: str, status: int, extra: dict[str, str] | None = None) -> Response:
    body = ("<?xml version='1.0' encoding='UTF-8' ?>\n<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\">\n"
            f"        <message nature=\"\">{escape(text)}</message>\n</OpenRosaResponse>")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8",
                    headers={**headers(), **(extra or {})})


Shape = tuple[set[str], set[str], list[str]]


def shape(content: dict[str, Any]) -> Shape:
    """Repeat xpaths, media xpaths and geopoint xpaths of a form's content."""
    repeats, media, geo = set(), set(), []
    for row in content.get("survey", []):
        path, kind = row.get("$xpath"), row.get("type")
        if not path:
            continue
        if kind == "begin_repeat":
            repeats.add(path)
        elif kind in MEDIA_TYPES:
            media.add(path)
        elif kind == "geopoint":
            geo.append(path)
    return repeats, media, geo


def named_version(root: ET.Element) -> str | None:
    """The version uid an instance says it was filled in (its ``__version__``), if any."""
    for child in root:
        if _local(child.tag) == "__version__":
            return (child.text or "").strip() or None
    return None


def openrosa_routes(server: Server) -> list[Route]:
    store = server.store
    # (asset uid, __version__ as named, or None) -> shape; versions never change, and an unknown
    # name resolves to the deployed version, which only changes on redeploy (keyed by it too)
    shapes: dict[tuple[str, str | None, str], Shape] = {}

    def form_shape(asset: dict[str, Any], named: str | None) -> Shape:
        """The shape of the version a phone filled in: the one its ``__version__`` names, else
        the deployed one. Never the draft content: an import with ``destination`` changes that
        without redeploying, while phones still hold the deployed form."""
        key = (asset["uid"], named, asset["deployed_version_id"])
        if key not in shapes:
            row = named and store.one("SELECT content FROM versions WHERE asset_uid = ? AND uid = ?",
                                      (asset["uid"], named))
            if not row:
                row = store.one("SELECT content FROM versions WHERE uid = ?",
                                (asset["deployed_version_id"],))
            shapes[key] = shape(book_content(row["content"]))
        return shapes[key]

    def who(request: Request) -> tuple[str | None, Response | None]:
        try:
            user = server.user(request)
        except AuthFailure:
            user = None
        if user is None:
            return None, Response(status_code=401, headers={
                **headers(), "WWW-Authenticate": server.auth.challenge()})
        return user, None

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def form_list(request: Request) -> Response:
        user, denied = who(request)
        if denied:
            return denied
        wanted = request.query_params.get("formID")
        items = []
        for asset in store.assets_of(request.path_params.get("username", user)):
            if asset["owner"] != user or not asset["deployment_active"] or not asset["xform"]:
                continue
            if wanted and wanted != asset["uid"]:
                continue
            digest = hashlib.md5(asset["xform"].encode()).hexdigest()
            items.append(
                f"<xform><formID>{asset['uid']}</formID><name>{escape(asset['name'])}</name>"
                f"<majorMinorVersion>{escape(asset['xform_version'])}</majorMinorVersion>"
                f"<version>{escape(asset['xform_version'])}</version><hash>md5:{digest}</hash>"
                f"<descriptionText>{escape(asset['name'])}</descriptionText>"
                f"<downloadUrl>{base(request)}/forms/{asset['formid']}/form.xml</downloadUrl>"
                f"<manifestUrl>{base(request)}/xformsManifest/{asset['formid']}</manifestUrl></xform>")
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<xforms xmlns="http://openrosa.org/xforms/xformsList">'
                + "".join(items) + "</xforms>")
        return Response(body, media_type="text/xml; charset=utf-8", headers=headers())

    def by_formid(user: str, formid: str) -> dict[str, Any] | None:
        row = store.one("SELECT uid FROM assets WHERE CAST(formid AS TEXT) = ?", (formid,))
        asset = store.asset(row["uid"]) if row else None
        return asset if asset and asset["owner"] == user else None

    async def form_xml(request: Request) -> Response:
        user, denied = who(request)
        if denied:
            return denied
        asset = by_formid(user, request.path_params["formid"])
        if asset is None or not asset["xform"]:
            return message("Not found.", 404)
        return Response(asset["xform"], media_type="text/xml; charset=utf-8", headers=headers())

    async def manifest(request: Request) -> Response:
        user, denied = who(request)
        if denied:
            return denied
        if by_formid(user, request.path_params["formid"]) is None:
            return message("Not found.", 404)
        body = ('<?xml version="1.0" encoding="utf-8"?>\n'
                '<manifest xmlns="http://openrosa.org/xforms/xformsManifest"></manifest>')
        return Response(body, media_type="text/xml; charset=utf-8", headers=headers())

    async def submission(request: Request) -> Response:
        user, denied = who(request)
        if denied:
            return denied
        if request.method == "HEAD":
            return Response(status_code=204, headers=headers())
        if request.headers.get("content-type", "").startswith("application/json"):
            return await json_submission(request, user)
        parts = split_multipart(request.headers.get("content-type", ""), await request.body())
        if parts is None:  # not the plain shape: Starlette's parser (it reads the cached body)
            form = await request.form()
            parts = [(k, v.filename, await v.read()) if hasattr(v, "read") else (k, None, b"")
                     for k, v in form.multi_items()]
        xml = None
        files = {}
        for name, filename, data in parts:  # a repeated name: the last one wins, as in FormData
            if name == "xml_submission_file":
                xml = data if filename is not None else None
            elif filename:
                files[filename] = data
        if xml is None:
            return message("Received empty submission. No instance was created", 400)
        return receive(request, user, xml, files)

    async def json_submission(request: Request, user: str) -> Response:
        """``{"id": <form id>, "submission": {...}}`` as kpi accepts it (turned into the same XML)."""
        try:
            body = json.loads(await request.body())
            form_id, answers = str(body["id"]), body["submission"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "Received empty submission. No instance was created"}, 400)
        response = receive(request, user, dict_to_xml(form_id, answers), {})
        text = ET.fromstring(response.body).findtext(".//{*}message") or ""
        if response.status_code != 201:
            return JSONResponse({"error": text}, response.status_code, headers=headers())
        meta = ET.fromstring(response.body).find(".//{*}submissionMetadata")
        return JSONResponse({"message": text, "formid": meta.get("id"), "encrypted": False,
                             "instanceID": meta.get("instanceID"), "submissionDate": meta.get("submissionDate"),
                             "markedAsCompleteDate": meta.get("markedAsCompleteDate")}, 201,
                            headers={**headers(), "Location": f"{base(request)}/submission"})

    def receive(request: Request, user: str, xml: bytes, files: dict[str, bytes]) -> Response:
        try:
            root = ET.fromstring(xml)
        except ET.ParseError:
            return message("Improperly formatted XML.", 400)
        form_uid = root.attrib.get("id") or root.tag
        asset = store.deployment(form_uid)
        if asset is None or asset["owner"] != user or asset["deployed_version_id"] is None:
            return message("Form does not exist on this account", 404)
        if not asset["deployment_active"]:
            return message("Form is not active", 405)
        repeats, media, geo = form_shape(asset, named_version(root))
        try:
            parsed = flatten(root, repeats, media)
        except InstanceError as err:
            return message(str(err), 400)
        return save(request, user, asset, parsed, xml, files, geo)

    def save(request: Request, user: str, asset: dict[str, Any], parsed: Any, xml: bytes,
             files: dict[str, bytes], geo: list[str]) -> Response:
        """kpi's ``create_instance``: an exact duplicate adds only new files (202 when none), the
        same instanceID with other content is a conflict, a ``deprecatedID`` edits in place."""
        xml_hash = hashlib.sha256(xml).hexdigest()
        stamp = datetime.now(UTC)
        here = {"Location": f"{base(request)}{request.url.path}"}
        try:
            with store.transaction() as db:
                outcome, stale = write(db, user, asset, parsed, xml, xml_hash, files, geo, stamp)
        except ConflictingFile:
            return message("Attachment with same name already exists", 409, here)
        for path in stale:  # files an edit no longer names, removed once the edit is committed
            Path(path).unlink(missing_ok=True)
        if outcome == 201:
            return accepted(request, asset["uid"], parsed.instance_id, stamp)
        if outcome == 202:
            return message("Duplicate Instance", 202, here)
        if outcome == 409:
            return message("Submission with this instance ID already exists", 409, here)
        if outcome == 410:
            return message("The deprecatedID is not the latest version of this submission", 410)
        return message("Invalid submission - deprecatedID not found", 404)

    def write(db: Any, user: str, asset: dict[str, Any], parsed: Any, xml: bytes, xml_hash: str,
              files: dict[str, bytes], geo: list[str], stamp: datetime) -> tuple[int, list[str]]:
        """Store the submission inside the caller's transaction; return the status and stale files."""
        uid = asset["uid"]
        uuid = parsed.instance_id.removeprefix("uuid:")
        same = db.execute("SELECT * FROM submissions WHERE asset_uid = ? AND xml_hash = ?",
                          (uid, xml_hash)).fetchone()
        if same is not None:
            if not store_files(db, asset, same["id"], same["root_uuid"], parsed, files):
                return 202, []
            record = json.loads(same["body"])
            record["_attachments"] = attachment_items(db, asset, same["id"], same["root_uuid"])
            db.execute("UPDATE submissions SET body = ? WHERE id = ?",
                       (json.dumps(record, ensure_ascii=False), same["id"]))
            return 201, []
        if db.execute("SELECT 1 FROM submissions WHERE asset_uid = ? AND uuid = ?",
                      (uid, uuid)).fetchone() is not None:
            return 409, []
        stale: list[str] = []
        if parsed.deprecated_id:
            old_uuid = parsed.deprecated_id.removeprefix("uuid:")
            old = db.execute("SELECT * FROM submissions WHERE asset_uid = ? AND uuid = ?",
                             (uid, old_uuid)).fetchone()
            if old is None:
                older = db.execute("SELECT 1 FROM history WHERE asset_uid = ? AND uuid = ?",
                                   (uid, old_uuid)).fetchone()
                return (410 if older else 404), []
            submission_id, root_uuid, submitted = old["id"], old["root_uuid"], old["submission_time"]
            db.execute("INSERT OR IGNORE INTO history VALUES (?, ?, ?)", (submission_id, uid, old_uuid))
            for row in db.execute("SELECT id, basename, path FROM attachments WHERE submission_id = ?",
                                  (submission_id,)).fetchall():
                if row["basename"] not in parsed.media:  # Enketo does not resend unchanged files
                    db.execute("DELETE FROM attachments WHERE id = ?", (row["id"],))
                    stale.append(row["path"])
        else:
            # A new record is written once, whole: its id is the next AUTOINCREMENT value, known
            # here because BEGIN IMMEDIATE holds the write lock (ids are never reused).
            root_uuid, submitted = parsed.instance_id, stamp.strftime("%Y-%m-%dT%H:%M:%S")
            last = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'submissions'").fetchone()
            submission_id = (last[0] if last is not None else 0) + 1
        new = not parsed.deprecated_id  # not stored yet: no files to compare with, nothing to update
        files_added = store_files(db, asset, submission_id, root_uuid, parsed, files, new=new)
        record = to_json(parsed, submission_id=submission_id, xform_id=uid, root_uuid=root_uuid,
                         attachments=attachment_items(db, asset, submission_id, root_uuid)
                         if files_added or not new else [],
                         geolocation=first_geopoint(parsed.answers, geo), submission_time=submitted)
        body = json.dumps(record, ensure_ascii=False)
        if new:
            db.execute("INSERT INTO submissions (id, asset_uid, uuid, root_uuid, xml_hash, "
                       "submission_time, submitted_by, body, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (submission_id, uid, uuid, root_uuid, xml_hash, submitted, user, body, xml))
        else:
            db.execute("UPDATE submissions SET uuid = ?, xml_hash = ?, body = ?, xml = ? WHERE id = ?",
                       (uuid, xml_hash, body, xml, submission_id))
        return 201, stale

    def accepted(request: Request, uid: str, instance_id: str, stamp: datetime) -> Response:
        marked = stamp.isoformat()
        body = ("<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\">\n"
                "    <message>Successful submission.</message>\n"
                f"    <submissionMetadata xmlns=\"http://www.opendatakit.org/xforms\" id={quoteattr(uid)} "
                f"instanceID={quoteattr(instance_id)} submissionDate={quoteattr(marked)} "
                f"isComplete=\"true\" markedAsCompleteDate={quoteattr(marked)}/>\n</OpenRosaResponse>")
        return Response(body, status_code=201, media_type="text/xml; charset=utf-8",
                        headers={**headers(), "Location": f"{base(request)}/submission"})

    def store_files(db: Any, asset: dict[str, Any], submission_id: int, root_uuid: str, parsed: Any,
                    files: dict[str, bytes], new: bool = False) -> int:
        """Save the uploaded files the instance names; return how many were new. ``new``: the
        submission is not stored yet, so it has no files to compare with."""
        added = 0
        folder = store.folder / "media" / asset["uid"] / root_uuid.removeprefix("uuid:")
        for basename, xpath in parsed.media.items():
            data = files.get(basename)
            if data is None:
                continue
            known = None if new else db.execute(
                "SELECT path FROM attachments WHERE submission_id = ? AND basename = ?",
                (submission_id, basename)).fetchone()
            if known is not None:
                if Path(known["path"]).read_bytes() != data:
                    raise ConflictingFile(basename)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / basename
            path.write_bytes(data)
            mimetype = mimetypes.guess_type(basename)[0] or "application/octet-stream"
            db.execute("INSERT INTO attachments (uid, submission_id, asset_uid, basename, mimetype, "
                       "path, xpath) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (ids.uid("att"), submission_id, asset["uid"], basename, mimetype, str(path), xpath))
            added += 1
        return added

    def attachment_items(db: Any, asset: dict[str, Any], submission_id: int,
                         root_uuid: str) -> list[dict[str, Any]]:
        """``_attachments`` as kpi rewrites them (host filled in when served)."""
        out = []
        url = f"{{{{HOST}}}}/api/v2/assets/{asset['uid']}/data/{submission_id}/attachments/"
        for row in db.execute("SELECT * FROM attachments WHERE submission_id = ? ORDER BY id",
                              (submission_id,)).fetchall():
            filename = (f"{asset['owner']}/attachments/{asset['deployment_uuid']}/"
                        f"{root_uuid.removeprefix('uuid:')}/{row['basename']}")
            item = {"download_url": f"{url}{row['uid']}/", "mimetype": row["mimetype"], "filename": filename,
                    "media_file_basename": row["basename"], "uid": row["uid"], "is_deleted": False}
            if row["mimetype"].startswith("image/"):
                for size in ("large", "medium", "small"):
                    item[f"download_{size}_url"] = f"{url}{row['uid']}/{size}/"
            item["question_xpath"] = row["xpath"]
            out.append(item)
        return out

    routes = [
        Route("/formList", form_list, methods=["GET", "HEAD"]),
        Route("/{username}/formList", form_list, methods=["GET", "HEAD"]),
        Route("/forms/{formid}/form.xml", form_xml, methods=["GET"]),
        Route("/{username}/forms/{formid}/form.xml", form_xml, methods=["GET"]),
        Route("/xformsManifest/{formid}", manifest, methods=["GET"]),
        Route("/submission", submission, methods=["HEAD", "POST"]),
        Route("/{username}/submission", submission, methods=["HEAD", "POST"]),
    ]
    return routes
