"""The import task: an uploaded XLSForm (.xlsx or .xls) becomes a new asset (survey, or a library
block without ``library=false``) or replaces the content of ``destination``, as kpi's
``ImportTask`` does. The import's ``name`` (kpi keeps it as the "filename") names a new asset
without a ``form_title`` and gives its ``id_string`` when the XLSForm has no ``form_id``; the
uploaded file's own name is not used (kpi's view overwrites it with ``name``)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from fieldsim.server import ids
from fieldsim.server.content import (
    ContentError,
    build_content,
    read_workbook,
    summary,
    workbook_suffix,
)
from fieldsim.server.state import Server, now_z


def run_import(server: Server, import_uid: str, user: str, data: bytes | None, name: str,
               library: bool, destination: str, base: str) -> None:
    """The import task (the real server runs it in Celery)."""
    store = server.store
    time.sleep(server.faults.import_delay)  # the task stays ``processing`` meanwhile
    try:
        if not data:
            raise ContentError("xls upload must have one of these sheets: survey, library")
        folder = store.folder / "imports"
        folder.mkdir(exist_ok=True)
        path = folder / f"{import_uid}{workbook_suffix(data)}"
        path.write_bytes(data)
        book = read_workbook(path)
        filename = Path(name).stem if name else None  # kpi: splitext() of the POSTed name
        target = None
        if destination:
            target_uid = destination.rstrip("/").rsplit("/", 1)[-1]
            target = store.asset(target_uid)
            if target is None or target["owner"] != user:
                raise ContentError(f"destination not found: {destination}")
        # replacing content: only a settings form_title renames, and nothing gives an id_string
        content, title = build_content(book, None if target else filename)
        content_hash = hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()
        stamp = now_z()
        version = ids.uid("v")
        asset_type = "survey" if not library else ("question" if len(content["survey"]) == 1 else "block")
        asset_name = (title or "") if target is None else (title or target["name"] or filename or "")
        stored = json.dumps(content)
        with store.transaction() as db:
            if target is None:
                uid = ids.uid("a")
                db.execute("""INSERT INTO assets (uid, owner, name, asset_type, date_created, date_modified,
                              content, version_id, xlsx, deployment_active) VALUES (?,?,?,?,?,?,?,?,?,0)""",
                           (uid, user, asset_name, asset_type, stamp, stamp, stored, version, data))
            else:
                uid = target["uid"]
                db.execute("UPDATE assets SET name = ?, content = ?, version_id = ?, xlsx = ?, "
                           "date_modified = ?, asset_type = 'survey' WHERE uid = ?",
                           (asset_name, stored, version, data, stamp, uid))
            number = db.execute("SELECT count(*) FROM versions WHERE asset_uid = ?", (uid,)).fetchone()[0]
            db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, NULL, ?, ?)",
                       (version, uid, content_hash, stamp,
                        json.dumps({"book": _plain(book), "filename": None if target else filename}),
                        number + 1))
        item = {"uid": uid, "summary": summary(content), "kind": "asset", "owner__username": user}
        if target is None:
            messages: dict[str, Any] = {"created": [item]}
        else:
            messages = {"audit_logs": [{"asset_uid": uid, "asset_id": 0, "latest_version_uid": version,
                                        "ip_address": "127.0.0.1", "source": "aimak local server",
                                        "old_name": target["name"], "new_name": asset_name,
                                        "project_owner": user}],
                        "updated": [item]}
        store.run("UPDATE imports SET status = 'complete', messages = ? WHERE uid = ?",
                  (json.dumps(messages), import_uid))
    except Exception as err:  # the real task stores any failure the same way
        store.run("UPDATE imports SET status = 'error', messages = ? WHERE uid = ?",
                  (json.dumps({"error_type": type(err).__name__, "error": str(err)}), import_uid))


def _plain(book: dict[str, Any]) -> dict[str, Any]:
    keep = ("survey", "choices", "settings", "survey_header", "choices_header", "settings_header",
            "sheet_names")
    return {key: value for key, value in book.items() if key in keep}


