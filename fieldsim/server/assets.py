"""Asset records as the KPI API serialises them (list items and full detail), built from the store."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fieldsim.server.content import build_content, summary
from fieldsim.server.ids import ALPHABET
from fieldsim.server.store import Store

PERMISSIONS = ("add_submissions", "change_asset", "change_submissions", "delete_submissions",
               "manage_asset", "validate_submissions", "view_asset", "view_submissions")


def deployment_status(asset: dict[str, Any]) -> str:
    if asset["asset_type"] != "survey":
        return "-"
    if asset["deployed_version_id"] is None:
        return "draft"
    return "deployed" if asset["deployment_active"] else "archived"


def _common(store: Store, asset: dict[str, Any], base: str) -> dict[str, Any]:
    uid, owner = asset["uid"], asset["owner"]
    url = f"{base}/api/v2/assets/{uid}/"
    deployed = asset["deployed_version_id"] is not None
    return {
        "url": url,
        "date_created": asset["date_created"],
        "date_modified": asset["date_modified"],
        "date_deployed": asset["date_deployed"],
        "owner": f"{base}/api/v2/users/{owner}/",
        "summary": summary(asset["content"]),
        "owner__username": owner,
        "parent": None,
        "uid": uid,
        "tag_string": "",
        "settings": {},
        "kind": "asset",
        "name": asset["name"],
        "asset_type": asset["asset_type"],
        "version_id": asset["version_id"],
        "has_deployment": deployed,
        "deployed_version_id": asset["deployed_version_id"],
        "deployment__active": bool(asset["deployment_active"]) if deployed else False,
        "deployment__submission_count": store.submission_count(uid) if deployed else 0,
        "deployment__last_submission_time": _z(store.last_submission_time(uid)) if deployed else None,
        "deployment__encrypted": False,
        "deployment__uuid": asset["deployment_uuid"],
        "deployment_status": deployment_status(asset),
        "permissions": [
            {"url": f"{url}permission-assignments/p{uid[1:9]}{i}/", "user": f"{base}/api/v2/users/{owner}/",
             "permission": f"{base}/api/v2/permissions/{perm}/", "label": perm.replace("_", " ").capitalize()}
            for i, perm in enumerate(PERMISSIONS)],
        "export_settings": [],
        "downloads": [{"format": "xls", "url": f"{base}/api/v2/assets/{uid}.xls"},
                      {"format": "xml", "url": f"{base}/api/v2/assets/{uid}.xml"}],
        "data": f"{url}data/",
        "subscribers_count": 0,
        "status": "private",
        "access_types": None,
        "children": {"count": 0},
        "data_sharing": {},
        "owner_label": owner,
        "last_modified_by": owner,
        "created_by": owner,
    }


def _z(value: str | None) -> str | None:
    return f"{value}.000000Z" if value and "." not in value else value


def list_item(store: Store, asset: dict[str, Any], base: str) -> dict[str, Any]:
    return _common(store, asset, base)


def detail(store: Store, asset: dict[str, Any], base: str) -> dict[str, Any]:
    uid = asset["uid"]
    url = f"{base}/api/v2/assets/{uid}/"
    common = _common(store, asset, base)
    versions = store.versions(uid)
    deployed = [version_item(v, uid, base) for v in store.deployed_versions(uid)]
    current = next((v for v in versions if v["uid"] == asset["version_id"]), None)
    out: dict[str, Any] = {key: common[key] for key in ("url", "owner", "owner__username", "parent",
                                                         "settings", "asset_type")}
    out["files"] = []
    out["summary"] = common["summary"]
    for key in ("date_created", "date_modified", "date_deployed", "version_id"):
        out[key] = common[key]
    out["version__content_hash"] = current["content_hash"] if current else None
    out["version_count"] = len(versions)
    out["has_deployment"] = common["has_deployment"]
    out["deployed_version_id"] = common["deployed_version_id"]
    out["deployed_versions"] = {"count": len(deployed), "next": None, "previous": None, "results": deployed}
    out["deployment__links"] = {} if not common["has_deployment"] else {
        "url": f"{base}/enketo/{uid}", "single_url": f"{base}/enketo/single/{uid}",
        "single_once_url": f"{base}/enketo/single/once/{uid}", "offline_url": f"{base}/enketo/x/{uid}",
        "preview_url": f"{base}/enketo/preview/{uid}", "iframe_url": f"{base}/enketo/i/{uid}",
        "single_iframe_url": f"{base}/enketo/single/i/{uid}",
        "single_once_iframe_url": f"{base}/enketo/single/once/i/{uid}"}
    for key in ("deployment__active",):
        out[key] = common[key]
    out["deployment__data_download_links"] = {} if not common["has_deployment"] else {
        "xls_legacy": f"{base}/{asset['owner']}/exports/{uid}/xls/",
        "csv_legacy": f"{base}/{asset['owner']}/exports/{uid}/csv/",
        "zip_legacy": f"{base}/{asset['owner']}/exports/{uid}/zip/",
        "xls": f"{base}/{asset['owner']}/reports/{uid}/export.xlsx",
        "csv": f"{base}/{asset['owner']}/reports/{uid}/export.csv"}
    for key in ("deployment__submission_count", "deployment__last_submission_time",
                "deployment__encrypted", "deployment__uuid", "deployment_status"):
        out[key] = common[key]
    out.update({
        "report_styles": {"default": {}, "specified": {}, "kuid_names": {}},
        "report_custom": {},
        "advanced_features": {},
        "analysis_form_json": {"engines": {}, "additional_fields": []},
        "map_styles": {},
        "map_custom": {},
        "content": asset["content"],
        "downloads": common["downloads"],
        "embeds": [{"format": "xls", "url": f"{url}xls/"}, {"format": "xform", "url": f"{url}xform/"}],
        "xform_link": f"{url}xform/",
        "hooks_link": f"{url}hooks/",
        "tag_string": "",
        "uid": uid,
        "kind": "asset",
        "xls_link": f"{url}xls/",
        "name": asset["name"],
        "assignable_permissions": [{"url": f"{base}/api/v2/permissions/{p}/", "label": p} for p in PERMISSIONS],
        "permissions": common["permissions"],
        "effective_permissions": [{"codename": p} for p in PERMISSIONS],
        "exports": f"{url}exports/",
        "export_settings": [],
        "data": common["data"],
        "children": {"count": 0},
        "subscribers_count": 0,
        "status": "private",
        "access_types": None,
        "data_sharing": {},
        "paired_data": f"{url}paired-data/",
        "project_ownership": None,
        "owner_label": asset["owner"],
        "last_modified_by": asset["owner"],
        "created_by": asset["owner"],
    })
    return out


def version_item(row: Any, asset_uid: str, base: str) -> dict[str, Any]:
    return {"uid": row["uid"], "url": f"{base}/api/v2/assets/{asset_uid}/versions/{row['uid']}/",
            "content_hash": row["content_hash"],
            "date_deployed": row["date_deployed"] if row["date_deployed"] else False,
            "date_modified": row["date_modified"]}


def version_detail(store: Store, asset: dict[str, Any], version_uid: str, base: str) -> dict[str, Any] | None:
    """One version as kpi's ``AssetVersionSerializer`` gives it: the list item plus the
    ``content`` of that version (None when the asset has no such version)."""
    row = store.one("SELECT uid, content_hash, date_modified, date_deployed, content FROM versions "
                    "WHERE asset_uid = ? AND uid = ?", (asset["uid"], version_uid))
    if row is None:
        return None
    return {**version_item(row, asset["uid"], base),
            "content": version_content(asset, version_uid, row["content"])}


def book_content(stored: str) -> dict[str, Any]:
    """The content built again from a ``versions.content`` row (JSON holding the XLSForm sheets
    and the import's name, which gave the ``id_string`` of a form without ``form_id``)."""
    row = json.loads(stored)
    return build_content(row["book"], row.get("filename"))[0]


def version_content(asset: dict[str, Any], version_uid: str, stored: str) -> dict[str, Any]:
    """The content of a version. The current one is the asset's content; an older one is built
    again from the XLSForm sheets the store keeps, with ``$kuid`` values derived from the
    version uid so every read gives the same content, as kpi's stored copy does."""
    if version_uid == asset["version_id"]:
        return asset["content"]
    content = book_content(stored)
    for i, row in enumerate([*content["survey"], *content["choices"]]):
        digest = hashlib.sha1(f"{version_uid}:{i}".encode()).digest()
        row["$kuid"] = "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:9])
    return content
