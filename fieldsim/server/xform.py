"""Deployment: the asset's XLSForm → the XForm phones download, as KoboToolbox builds it.

The XForm's id and root element are the asset uid, its version is "N (date)", a ``__version__``
calculate holds the version uid and ``formhub/uuid`` the deployment uuid. pyxform's Python API
converts it; its error message is what a failed deployment returns.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert


class DeployError(ValueError):
    """pyxform rejected the form."""


def build_xform(book: dict[str, Any], asset_uid: str, version_uid: str, version_label: str,
                deployment_uuid: str, title: str) -> str:
    book = copy.deepcopy(book)
    survey = [r for r in book.get("survey", []) if r.get("name") != "__version__"]
    survey.insert(0, {"type": "begin_group", "name": "formhub"})
    survey.insert(1, {"type": "calculate", "name": "uuid", "calculation": f"'{deployment_uuid}'"})
    survey.insert(2, {"type": "end_group", "name": ""})
    survey.append({"type": "calculate", "name": "__version__", "calculation": f"'{version_uid}'"})
    book["survey"] = survey
    settings = dict((book.get("settings") or [{}])[0])
    settings.update({"form_id": asset_uid, "version": version_label, "form_title": title})
    book["settings"] = [settings]
    for sheet, columns in (("survey", ("type", "name", "calculation")), ("settings", tuple(settings))):
        header = dict((book.get(f"{sheet}_header") or [{}])[0])
        header.update({column: None for column in columns if column not in header})
        book[f"{sheet}_header"] = [header]
    try:
        return convert(xlsform=book, form_name=asset_uid).xform
    except PyXFormError as err:
        raise DeployError(str(err)) from err
    except Exception as err:  # pyxform raises other types on malformed sheets
        raise DeployError(f"{type(err).__name__}: {err}") from err


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
