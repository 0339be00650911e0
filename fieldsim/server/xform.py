"""Deployment: the asset's XLSForm → the XForm phones download, as KoboToolbox builds it.

The XForm's id and root element are the asset uid, its version is "N (date)" and a ``__version__``
calculate holds the version uid (kpi's ``to_xls_io(versioned=True)``). pyxform's Python API
converts it; its error message is what a failed deployment returns. ``formhub/uuid`` is added to
the converted XForm as KoboCAT adds it (``DataDictionary.set_uuid_in_xml``): a ``<formhub><uuid/>``
node first in the primary instance and a calculate ``<bind>`` at the end of the model, with no
body group (ODK Validate rejects a group with nothing to show: "Group has no children!").
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any
from xml.dom import Node, minidom

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert


class DeployError(ValueError):
    """pyxform rejected the form."""


def build_xform(book: dict[str, Any], asset_uid: str, version_uid: str, version_label: str,
                deployment_uuid: str, title: str) -> str:
    book = copy.deepcopy(book)
    survey = [r for r in book.get("survey", []) if r.get("name") != "__version__"]
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
        xform = convert(xlsform=book, form_name=asset_uid).xform
    except PyXFormError as err:
        raise DeployError(str(err)) from err
    except Exception as err:  # pyxform raises other types on malformed sheets
        raise DeployError(f"{type(err).__name__}: {err}") from err
    return add_formhub_uuid(xform, asset_uid, deployment_uuid)


def _elements(node: Node) -> list[Any]:
    return [child for child in node.childNodes if child.nodeType == Node.ELEMENT_NODE]


def add_formhub_uuid(xform: str, root: str, deployment_uuid: str) -> str:
    """The XForm with ``formhub/uuid`` set to ``deployment_uuid``, placed as KoboCAT places it
    (an existing ``formhub`` node is kept, as KoboCAT keeps it)."""
    doc = minidom.parseString(xform.encode("utf-8"))
    model = next(node for node in doc.getElementsByTagName("model")
                 if node.parentNode.tagName == "h:head")
    instance = next(node for node in _elements(model)
                    if node.tagName.lower() == "instance" and not node.hasAttribute("id"))
    survey = next(node for node in _elements(instance)
                  if node.tagName == root or node.getAttribute("id"))
    formhub = [node for node in _elements(survey) if node.tagName == "formhub"]
    if formhub:
        return xform
    node = survey.insertBefore(doc.createElement("formhub"), survey.firstChild)
    node.appendChild(doc.createElement("uuid"))
    bind = doc.createElement("bind")
    bind.setAttribute("nodeset", f"/{root}/formhub/uuid")
    bind.setAttribute("type", "string")
    bind.setAttribute("calculate", f"'{deployment_uuid}'")
    model.appendChild(bind)
    return doc.toxml()


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
