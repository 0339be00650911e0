"""The OpenRosa side (what ODK Collect / KoboCollect talk to): formList, form download, manifest,
and ``POST /submission`` with KoboToolbox's status codes and headers."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldsim.kpi import ids
from fieldsim.kpi.auth import AuthFailure
from fieldsim.kpi.instance import InstanceError, first_geopoint, parse_instance, to_json

if TYPE_CHECKING:
    from fieldsim.kpi.app import Server

MEDIA_TYPES = {"image", "audio", "video", "file", "background-audio", "audit"}


def headers() -> dict[str, str]:
    return {"X-OpenRosa-Version": "1.0", "X-OpenRosa-Accept-Content-Length": "10000000",
            "Date": formatdate(usegmt=True)}


def message(text: str, status: int, extra: dict[str, str] | None = None) -> Response:
    body = ("<?xml version='1.0' encoding='UTF-8' ?>\n<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\">\n"
            f"        <message nature=\"\">{escape(text)}</message>\n</OpenRosaResponse>")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8",
                    headers={**headers(), **(extra or {})})


def shape(content: dict[str, Any]) -> tuple[set[str], set[str], list[str]]:
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


def openrosa_routes(server: Server) -> list[Route]:
    store = server.store

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
        if request.method == "HEAD":
            user, denied = who(request)
            return denied or Response(status_code=204, headers=headers())
        user, denied = who(request)
        if denied:
            return denied
        form = await request.form()
        part = form.get("xml_submission_file")
        if part is None or not hasattr(part, "read"):
            return message("Received empty submission. No instance was created", 400)
        xml = await part.read()
        files = {v.filename: await v.read() for k, v in form.multi_items()
                 if k != "xml_submission_file" and hasattr(v, "read")}
        try:
            root = ET.fromstring(xml)
        except ET.ParseError:
            return message("Improperly formatted XML.", 400)
        form_uid = root.attrib.get("id") or root.tag
        asset = store.asset(form_uid)
        if asset is None or asset["owner"] != user or asset["deployed_version_id"] is None:
            return message("Form does not exist on this account", 404)
        if not asset["deployment_active"]:
            return message("Form is not active", 405)
        repeats, media, geo = shape(asset["content"])
        try:
            parsed = parse_instance(xml, repeats, media)
        except InstanceError as err:
            return message(str(err), 400)
        return save(request, user, asset, parsed, xml, files, geo)

    def save(request: Request, user: str, asset: dict[str, Any], parsed: Any, xml: bytes,
             files: dict[str, bytes], geo: list[str]) -> Response:
        uid = asset["uid"]
        uuid = parsed.instance_id.removeprefix("uuid:")
        xml_hash = hashlib.sha256(xml).hexdigest()
        stamp = datetime.now(UTC)
        with store.transaction() as db:
            existing = db.execute("SELECT id, xml_hash FROM submissions WHERE asset_uid = ? AND uuid = ?",
                                  (uid, uuid)).fetchone()
            if existing is not None:
                if existing["xml_hash"] == xml_hash:
                    return message("Duplicate Instance", 202)
                return message("Submission with this instance ID already exists", 409)
            if parsed.deprecated_id:
                old = db.execute("SELECT * FROM submissions WHERE asset_uid = ? AND uuid = ?",
                                 (uid, parsed.deprecated_id.removeprefix("uuid:"))).fetchone()
                if old is None:
                    return message("Invalid submission - deprecatedID not found", 404)
                submission_id, root_uuid, submitted = old["id"], old["root_uuid"], old["submission_time"]
            else:
                submission_id = None
                root_uuid, submitted = parsed.instance_id, stamp.strftime("%Y-%m-%dT%H:%M:%S")
            if submission_id is None:
                submission_id = db.execute(
                    "INSERT INTO submissions (asset_uid, uuid, root_uuid, xml_hash, submission_time, "
                    "submitted_by, body) VALUES (?, ?, ?, ?, ?, ?, '{}')",
                    (uid, uuid, root_uuid, xml_hash, submitted, user)).lastrowid
            else:
                db.execute("DELETE FROM attachments WHERE submission_id = ?", (submission_id,))
            attachments = store_files(db, asset, submission_id, root_uuid, parsed, files)
            record = to_json(parsed, submission_id=submission_id, xform_id=uid, root_uuid=root_uuid,
                             attachments=attachments, geolocation=first_geopoint(parsed.answers, geo),
                             submission_time=submitted)
            db.execute("UPDATE submissions SET uuid = ?, xml_hash = ?, body = ?, xml = ? WHERE id = ?",
                       (uuid, xml_hash, json.dumps(record, ensure_ascii=False), xml, submission_id))
        marked = stamp.isoformat()
        body = ("<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\">\n"
                "    <message>Successful submission.</message>\n"
                f"    <submissionMetadata xmlns=\"http://www.opendatakit.org/xforms\" id={quoteattr(uid)} "
                f"instanceID={quoteattr(parsed.instance_id)} submissionDate={quoteattr(marked)} "
                f"isComplete=\"true\" markedAsCompleteDate={quoteattr(marked)}/>\n</OpenRosaResponse>")
        return Response(body, status_code=201, media_type="text/xml; charset=utf-8",
                        headers={**headers(), "Location": f"{base(request)}/submission"})

    def store_files(db: Any, asset: dict[str, Any], submission_id: int, root_uuid: str, parsed: Any,
                    files: dict[str, bytes]) -> list[dict[str, Any]]:
        out = []
        folder = store.folder / "media" / asset["uid"] / root_uuid.removeprefix("uuid:")
        for basename, xpath in parsed.media.items():
            data = files.get(basename)
            if data is None:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / basename
            path.write_bytes(data)
            mimetype = mimetypes.guess_type(basename)[0] or "application/octet-stream"
            att_uid = ids.uid("att")
            db.execute("INSERT INTO attachments (uid, submission_id, asset_uid, basename, mimetype, "
                       "path, xpath) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (att_uid, submission_id, asset["uid"], basename, mimetype, str(path), xpath))
            url = f"{{{{HOST}}}}/api/v2/assets/{asset['uid']}/data/{submission_id}/attachments/"
            filename = (f"{asset['owner']}/attachments/{asset['deployment_uuid']}/"
                        f"{root_uuid.removeprefix('uuid:')}/{basename}")
            item = {"download_url": f"{url}{att_uid}/", "mimetype": mimetype, "filename": filename,
                    "media_file_basename": basename, "uid": att_uid, "is_deleted": False}
            if mimetype.startswith("image/"):
                for size in ("large", "medium", "small"):
                    item[f"download_{size}_url"] = f"{url}{att_uid}/{size}/"
            item["question_xpath"] = xpath
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
