"""``aimak forms deploy``: upload and deploy every generated form, redeploying only what changed.

Every form is converted with pyxform first, so a broken form stops the run before anything is
sent. A form is looked up on the server by its form id (``content.settings.id_string``); a new
one is imported (``library=false``) and deployed, a changed one is imported over its asset and
redeployed with the asset's current ``version_id``, an unchanged one is left alone — so no new
version appears on the server or on the phones.

"Unchanged" means the deployed content is our form's version (a hash of its content). The
server's ``content.settings.version`` is asked first, but only when that content is the deployed
one (``version_id == deployed_version_id``); it cannot be relied on alone: kpi rewrites content on
save (``Asset.adjust_content_on_save`` strips the ``__version__`` row and ``form_title``), writes
its own "N (date)" version only into the deployed XForm, and an asset edited in the web form
builder, or the contract's own ``asset_detail.json``, has no ``settings.version`` at all. When the
server cannot tell, the deployment recorded in the warehouse decides: same asset, same form
version, and the server still serves the version id we recorded. Without either, the form is
redeployed once and recorded, so the next run finds it unchanged.

The network may fail anywhere: reads and the deployment requests are retried (a lost answer to a
deployment is settled by reading it back, :mod:`etl.kobo`), and an import whose answer is lost is
looked for on the server before it is sent again (:func:`import_form`), so a flaky network never
leaves a second asset of a form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from aimak.errors import AimakError, KoboUnavailableError
from etl.kobo import KoboClient

CREATED, REDEPLOYED, UNCHANGED = "created", "redeployed", "unchanged"
IMPORT_ATTEMPTS = 4  # import POSTs sent for one form when their answers are lost and nothing shows
_KPI_VERSION_STAMP = re.compile(r"^\d+ \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$")  # "3 (2026-02-20 14:05:33)"


@dataclass(frozen=True)
class FormFile:
    path: Path
    form_id: str
    version: str
    title: str


@dataclass(frozen=True)
class Deployed:
    """What is deployed for a form: recorded by the caller, given back on the next run."""

    form_id: str
    asset_uid: str
    form_version: str
    version_id: str
    action: str


def read_form_file(path: Path) -> FormFile:
    """Read form_id, version and title from an XLSForm's settings sheet."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        if "settings" not in workbook.sheetnames:
            raise AimakError(f"{path}: the XLSForm has no 'settings' sheet with form_id and version; "
                             "rebuild it with 'aimak forms build'.")
        rows = list(workbook["settings"].iter_rows(values_only=True))
    finally:
        workbook.close()
    settings = dict(zip(rows[0], rows[1], strict=False)) if len(rows) > 1 else {}
    form_id, version = settings.get("form_id"), settings.get("version")
    if not form_id or not version:
        raise AimakError(f"{path}: settings sheet lacks form_id or version; rebuild it with "
                         "'aimak forms build'.")
    return FormFile(path, str(form_id), str(version), str(settings.get("form_title") or form_id))


def deploy_forms(
    client: KoboClient,
    forms_dir: Path,
    recorded: Mapping[str, Deployed] | None = None,
    convert: Callable[[Path], object] | None = None,
    on_form: Callable[[Deployed], None] | None = None,
) -> list[Deployed]:
    """Deploy every ``*.xlsx`` of ``forms_dir``; return what is deployed for each form.

    Every form is converted first, so a pyxform failure stops the run before any request.
    ``on_form`` is called with each form's result as soon as that form is done (so the caller
    can record it at once: a failure on a later form keeps the earlier forms' records).
    """
    recorded = recorded or {}
    files = sorted(forms_dir.glob("*.xlsx"))
    if not files:
        raise AimakError(f"no XLSForm (*.xlsx) in {forms_dir}: run 'aimak forms build' first.")
    forms = [read_form_file(path) for path in files]
    if convert is None:
        from forms.build import convert_xlsform

        def convert(path: Path) -> object:
            return convert_xlsform(path, validate=False)
    for form in forms:  # pyxform failures stop before anything is sent
        convert(form.path)
    results = []
    for form in forms:
        result = deploy_form(client, form, recorded.get(form.form_id))
        results.append(result)
        if on_form:
            on_form(result)
    return results


def deploy_form(client: KoboClient, form: FormFile, recorded: Deployed | None) -> Deployed:
    asset = client.find_asset(form.form_id, recorded.asset_uid if recorded else None)
    if asset is None:
        uid = import_form(client, form)
        return _deployed(client, form, uid, client.deploy(uid), CREATED)
    uid = asset["uid"]
    if is_unchanged(asset, form, recorded):
        return Deployed(form.form_id, uid, form.version, asset["deployed_version_id"], UNCHANGED)
    import_form(client, form, asset)
    current = client.asset(uid)
    if current.get("has_deployment"):
        body = client.redeploy(uid, current["version_id"])
    else:
        body = client.deploy(uid)
    return _deployed(client, form, uid, body, REDEPLOYED)


def import_form(client: KoboClient, form: FormFile, asset: dict[str, Any] | None = None) -> str:
    """Import the form's XLSForm as a new asset, or over ``asset``; return the asset uid.

    The import POST is not idempotent, so it is never simply repeated. When its answer is lost
    (a gateway's 5xx, a dropped connection, a timeout) the import may have started all the same:
    the imports started since the POST was sent are waited for, then the form is looked for (a
    new asset with its form id; for ``asset``, a version newer than the one it had). Only when the import did
    not happen is the POST sent again, up to ``IMPORT_ATTEMPTS`` times with backoff.
    """
    destination = asset["uid"] if asset else None
    for attempt in range(IMPORT_ATTEMPTS):
        known = client.import_count()
        try:
            task = client.import_xlsform(form.path, form.title, destination_uid=destination)
        except KoboUnavailableError as failure:
            lost = failure
        else:
            return client.wait_import(task)
        client.settle_imports(known)
        if asset is None:
            found = client.find_asset(form.form_id)
            if found is not None:
                return found["uid"]
        elif client.asset(asset["uid"]).get("version_id") != asset.get("version_id"):
            return asset["uid"]
        if attempt + 1 < IMPORT_ATTEMPTS:
            client.http.pause(attempt)
    raise KoboUnavailableError(
        f"{form.path}: the import was not answered in {IMPORT_ATTEMPTS} attempts, and the server "
        f"shows no import of it (the last failure: {lost}). Nothing was created twice; run the "
        "deployment again once the server answers.")


def deployed_form_version(asset: dict[str, Any]) -> str | None:
    """Our XLSForm version of the deployed content as the server keeps it, or None when the
    server cannot tell (not deployed, a newer draft on top, no version kept, kpi's own stamp)."""
    deployed_id = asset.get("deployed_version_id")
    if not deployed_id or asset.get("version_id") != deployed_id:
        return None  # ``content`` is the latest version, which is not the deployed one
    version = ((asset.get("content") or {}).get("settings") or {}).get("version")
    if not version or _KPI_VERSION_STAMP.match(str(version)):
        return None
    return str(version)


def is_unchanged(asset: dict[str, Any], form: FormFile, recorded: Deployed | None) -> bool:
    """True when the server's active deployment is exactly this version of the form."""
    deployed_id = asset.get("deployed_version_id")
    if not (asset.get("has_deployment") and deployed_id and asset.get("deployment__active", True)):
        return False
    on_server = deployed_form_version(asset)
    if on_server is not None:  # the server's word wins over our records
        return on_server == form.version
    return (recorded is not None and recorded.asset_uid == asset["uid"]
            and recorded.form_version == form.version and recorded.version_id == deployed_id)


def _deployed(client: KoboClient, form: FormFile, uid: str, body: Any, action: str) -> Deployed:
    version_id = body.get("version_id") if isinstance(body, dict) else None
    if not version_id:
        version_id = client.asset(uid).get("deployed_version_id") or ""
    return Deployed(form.form_id, uid, form.version, version_id, action)
