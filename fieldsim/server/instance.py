"""An OpenRosa instance (the XML a phone sends) → the JSON KoboToolbox serves from ``/data/``.

Group paths become slash-joined keys without the root node; every value stays a string; empty
nodes are dropped; a repeat becomes a list of dicts keyed by full paths (nested repeats too);
the meta keys are added in the order the real server writes them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

VALIDATION_LABELS = {
    "validation_status_approved": "Approved",
    "validation_status_not_approved": "Not Approved",
    "validation_status_on_hold": "On Hold",
}


class InstanceError(ValueError):
    """The submission cannot be read (OpenRosa answers 400)."""


@dataclass
class Parsed:
    form_id: str
    instance_id: str
    deprecated_id: str | None
    answers: dict[str, Any]
    media: dict[str, str]  # basename -> question xpath (grp/rep[1]/q)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_instance(xml: bytes, repeats: set[str], media_paths: set[str]) -> Parsed:
    """Flatten an instance. ``repeats``: xpaths of repeat groups; ``media_paths``: media questions."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise InstanceError("Improperly formatted XML.") from err
    return flatten(root, repeats, media_paths)


def flatten(root: ET.Element, repeats: set[str], media_paths: set[str]) -> Parsed:
    """:func:`parse_instance` of an already parsed instance (the server reads the XML once)."""
    form_id = root.attrib.get("id") or _local(root.tag)
    answers: dict[str, Any] = {}
    media: dict[str, str] = {}

    # ``prefix`` and ``shown`` end with "/" below the root: paths are built by one concatenation
    def walk(element: ET.Element, prefix: str, out: dict[str, Any], shown: str) -> None:
        counts: dict[str, int] = {}
        for child in element:
            tag = child.tag
            # _local inlined on purpose: this runs once per element of every submission, and
            # most tags have no namespace, so the test skips the call and the rsplit
            if tag[:1] == "{":
                tag = tag[tag.rindex("}") + 1:]
            path = prefix + tag
            if path in repeats:
                counts[tag] = counts.get(tag, 0) + 1
                item: dict[str, Any] = {}
                walk(child, path + "/", item, f"{shown}{tag}[{counts[tag]}]/")
                if item:
                    out.setdefault(path, []).append(item)
            elif len(child):
                walk(child, path + "/", out, shown + tag + "/")
            else:
                text = child.text
                if not text or text.isspace():
                    continue
                out[path] = text
                if path in media_paths:
                    media[text] = shown + tag

    walk(root, "", answers, "")
    instance_id = answers.get("meta/instanceID")
    if not instance_id:
        raise InstanceError("Instance ID is required")
    return Parsed(form_id, instance_id, answers.get("meta/deprecatedID"), answers, media)


def first_geopoint(answers: dict[str, Any], geopoints: list[str]) -> list[float | None]:
    for path in geopoints:
        value = answers.get(path)
        if value:
            parts = value.split()
            try:
                return [float(parts[0]), float(parts[1])]
            except (IndexError, ValueError):
                continue
    return [None, None]


def to_json(parsed: Parsed, *, submission_id: int, xform_id: str, root_uuid: str,
            attachments: list[dict[str, Any]], geolocation: list[float | None],
            submission_time: str) -> dict[str, Any]:
    """The stored record, without ``_validation_status`` and ``_submitted_by`` (added when served).

    Key order follows kpi: answers in document order (``formhub/uuid`` … ``__version__``,
    ``meta/instanceID``); an edit carries ``meta/deprecatedID`` and then ``meta/rootUuid`` inside
    the instance, a first submission gets ``meta/rootUuid`` after ``_uuid``.
    """
    record: dict[str, Any] = {"_id": submission_id}
    answers = dict(parsed.answers)
    answers.pop("meta/rootUuid", None)
    for key, value in answers.items():
        record[key] = value
        if key == "meta/deprecatedID":
            record["meta/rootUuid"] = root_uuid
    record["_xform_id_string"] = xform_id
    record["_uuid"] = parsed.instance_id.removeprefix("uuid:")
    record["meta/rootUuid"] = record.get("meta/rootUuid", root_uuid)
    record["_attachments"] = attachments
    record["_status"] = "submitted_via_web"
    record["_geolocation"] = geolocation
    record["_submission_time"] = submission_time
    return record


def close_record(stored: str, validation: str, submitted_by: str | None) -> str:
    """Append the keys that change after submission to a stored record (string work, no parse)."""
    return (stored[:-1] + ', "_validation_status": ' + validation + ', "_submitted_by": '
            + json.dumps(submitted_by) + "}")


def validation_object(uid: str, by_whom: str, timestamp: int) -> dict[str, Any]:
    return {"timestamp": timestamp, "uid": uid, "by_whom": by_whom, "label": VALIDATION_LABELS[uid]}


def legacy_view(record: dict[str, Any], numeric_ids: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The same record as an older self-hosted server serves it: no ``meta/rootUuid``,
    ``_tags``/``_notes`` after ``_submission_time``, attachments keyed by numeric id with
    ``instance``/``xform``. ``numeric_ids`` maps attachment uid -> (numeric id, xform pk)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "meta/rootUuid":
            continue
        if key == "_attachments":
            value = [_legacy_attachment(a, record["_id"], numeric_ids) for a in value]
        out[key] = value
        if key == "_submission_time":
            out["_tags"], out["_notes"] = [], []
    return out


def _legacy_attachment(item: dict[str, Any], submission_id: int,
                       numeric_ids: dict[str, tuple[int, int]]) -> dict[str, Any]:
    numeric, xform = numeric_ids.get(item.get("uid", ""), (0, 0))
    url = f"{item['download_url'].rsplit('/', 2)[0]}/{numeric}/"
    return {"download_url": url, "download_large_url": url, "download_medium_url": url,
            "download_small_url": url, "mimetype": item["mimetype"], "filename": item["filename"],
            "instance": submission_id, "xform": xform, "id": numeric}
