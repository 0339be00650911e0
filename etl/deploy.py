"""``aimak forms deploy``: upload and deploy every generated form, redeploying only what changed.

Every form is converted with pyxform first, so a broken form stops the run before anything is
sent. A form is looked up on the server by its form id (``content.settings.id_string``); a new
one is imported (``library=false``) and deployed, a changed one is imported over its asset and
redeployed with the asset's current ``version_id``, an unchanged one is left alone — so no new
version appears on the server or on the phones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from aimak.errors import AimakError
from etl.kobo import KoboClient

CREATED, REDEPLOYED, UNCHANGED = "created", "redeployed", "unchanged"


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
    """Deploy every ``*.xlsx`` of ``forms_dir``; return what is deployed for each form."""
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
        uid = client.wait_import(client.import_xlsform(form.path, form.title))
        client.deploy(uid)
        return _deployed(client, form, uid, CREATED)
    uid = asset["uid"]
    deployed_version = ((asset.get("content") or {}).get("settings") or {}).get("version")
    same_as_recorded = (recorded is not None and recorded.form_version == form.version
                        and recorded.version_id == asset.get("deployed_version_id"))
    if asset.get("has_deployment") and asset.get("deployment__active", True) and (
            deployed_version == form.version and asset.get("version_id") == asset.get("deployed_version_id")
            or same_as_recorded):
        return Deployed(form.form_id, uid, form.version, asset.get("deployed_version_id") or "", UNCHANGED)
    client.wait_import(client.import_xlsform(form.path, form.title, destination_uid=uid))
    current = client.asset(uid)
    if current.get("has_deployment"):
        client.redeploy(uid, current["version_id"])
    else:
        client.deploy(uid)
    return _deployed(client, form, uid, REDEPLOYED)


def _deployed(client: KoboClient, form: FormFile, uid: str, action: str) -> Deployed:
    asset = client.asset(uid)
    return Deployed(form.form_id, uid, form.version, asset.get("deployed_version_id") or "", action)
