"""What supervisors do through the KPI API once the interviews are in: delete the submissions the
plan deletes and set validation statuses; and the fieldwork log (``fieldwork.csv``).

Supervision can be repeated: a submission already gone is not deleted again, and a status already
set is not set again; so a later run that sends what the phones kept supervises those too.
"""

from __future__ import annotations

import collections
import contextlib
import csv
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from aimak.errors import KoboNotFoundError
from etl.kobo import KoboClient
from fieldsim.fieldwork import Visit

Progress = Callable[[str, int, int], None]


class Supervised(Protocol):
    """What supervision counts (the run's result)."""

    deleted: int
    validation: dict[str, int]
    live: dict[str, int]


def supervise(kobo: KoboClient, forms: dict[str, str], visits: list[Visit], result: Supervised,
              progress: Progress) -> None:
    """Delete what supervisors delete and set validation statuses, for the submissions the server
    holds; count them in ``result`` with the records left on the server per form."""
    progress("supervising", 0, 1)
    for fid, uid in forms.items():
        found: dict[str, tuple[int, str | None]] = {}  # instance id -> (_id, validation status)
        for page in kobo.iter_pages(uid, fields=["_id", "_uuid", "_validation_status"]):
            for record in page.records:
                status = (record.get("_validation_status") or {}).get("uid")
                found[f"uuid:{record['_uuid'].removeprefix('uuid:')}"] = (record["_id"], status)
        mine = [v for v in visits if v.form == fid]
        for v in mine:
            if v.deleted and v.final_instance_id in found:
                # a 404: gone already (an earlier attempt whose answer was lost deleted it)
                with contextlib.suppress(KoboNotFoundError):
                    kobo.http.request("DELETE", f"api/v2/assets/{uid}/data/"
                                      f"{found[v.final_instance_id][0]}/", parse_json=False)
                result.deleted += 1
        by_status: dict[str, list[int]] = collections.defaultdict(list)
        for v in mine:
            record_id, status = found.get(v.final_instance_id, (None, None))
            if v.validation and not v.deleted and record_id is not None and status != v.validation:
                by_status[v.validation].append(record_id)
        for status, id_list in sorted(by_status.items()):
            kobo.http.request("PATCH", f"api/v2/assets/{uid}/data/validation_statuses/",
                              json={"payload": {"submission_ids": id_list,
                                                "validation_status.uid": status}})
            result.validation[status] = result.validation.get(status, 0) + len(id_list)
        page = kobo.http.get_json(f"api/v2/assets/{uid}/data/", format="json", limit=1)
        result.live[fid] = int(page.get("count", 0))
    progress("supervising", 1, 1)


def write_log(path: Path, visits: list[Visit]) -> None:
    """``fieldwork.csv``: one row per visit, in the order of sending."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["key", "form", "municipality", "village", "enumerator", "sex", "age_group",
                      "consent", "start", "end", "sent", "late", "instance_id", "final_instance_id",
                      "resent", "edited", "deleted", "validation_status"])
        for v in sorted(visits, key=lambda v: v.sent):
            r = v.respondent
            out.writerow([v.key, v.form, v.municipality, r.village if r else "", v.enumerator,
                          r.sex if r else "", r.age_group if r else "",
                          "" if r is None else ("yes" if r.consent else "no"),
                          v.start.isoformat(), v.end.isoformat(), v.sent.isoformat(), v.late,
                          v.instance_id, v.final_instance_id, bool(v.resend_at), bool(v.edit_at),
                          v.deleted, v.validation or ""])
