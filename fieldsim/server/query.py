"""Mongo-style ``query``, ``sort`` and ``fields`` of ``/data/`` as SQL over the stored records."""

from __future__ import annotations

import json
from typing import Any


class QueryError(ValueError):
    """``body`` is the JSON the real server answers with (status 400)."""

    def __init__(self, body: Any):
        super().__init__(str(body))
        self.body = body


COLUMNS = {"_id": "id", "_uuid": "uuid", "_submission_time": "submission_time",
           "_validation_status.uid": "json_extract(validation, '$.uid')",
           "meta/rootUuid": "root_uuid", "_submitted_by": "submitted_by"}
OPERATORS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<=", "$ne": "!=", "$eq": "="}


def _column(key: str) -> str | None:
    if key in COLUMNS:
        return COLUMNS[key]
    if "." in key or key.startswith("$"):
        return None  # the real server base64-encodes such keys: they match nothing
    return "json_extract(body, ?)"


def where(query_text: str | None) -> tuple[str, list[Any]]:
    """SQL condition and parameters for a ``query`` parameter."""
    if not query_text:
        return "1", []
    try:
        query = json.loads(query_text)
    except ValueError as err:
        raise QueryError({"query": "Value must be valid JSON."}) from err
    if not isinstance(query, dict):
        raise QueryError(["Unsupported query"])
    return _conditions(query)


def _conditions(query: dict[str, Any]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for key, condition in query.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, list):
                raise QueryError(["Unsupported query"])
            subs = [_conditions(c) for c in condition]
            joiner = " AND " if key == "$and" else " OR "
            parts.append("(" + joiner.join(s for s, _ in subs) + ")" if subs else "1")
            for _, p in subs:
                params += p
            continue
        column = _column(key)
        if column is None:
            parts.append("0")
            continue
        path = [f'$."{key}"'] if "?" in column else []
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            for op, value in condition.items():
                if op in OPERATORS:
                    parts.append(f"{column} {OPERATORS[op]} ?")
                    params += path + [value]
                elif op in ("$in", "$nin"):
                    if not isinstance(value, list):
                        raise QueryError(["Unsupported query"])
                    marks = ", ".join("?" for _ in value) or "NULL"
                    parts.append(f"{column} {'IN' if op == '$in' else 'NOT IN'} ({marks})")
                    params += path + list(value)
                elif op == "$exists":
                    parts.append(f"{column} IS {'NOT ' if value else ''}NULL")
                    params += path
                else:
                    raise QueryError(["Unsupported query"])
        else:
            parts.append(f"{column} = ?")
            params += path + [condition]
    return (" AND ".join(parts) or "1"), params


def order_by(sort_text: str | None) -> str:
    if not sort_text:
        return "id ASC"
    try:
        sort = json.loads(sort_text)
    except ValueError as err:
        raise QueryError({"sort": "Value must be valid JSON."}) from err
    terms = []
    for key, direction in (sort.items() if isinstance(sort, dict) else []):
        column = _column(key)
        if column is None or "?" in column:
            column = f"json_extract(body, '$.\"{key.replace(chr(34), '')}\"')"
        terms.append(f"{column} {'DESC' if direction in (-1, '-1', 'desc') else 'ASC'}")
    return ", ".join(terms + ["id ASC"])


def parse_fields(fields_text: str | None) -> list[str] | None:
    if not fields_text:
        return None
    try:
        fields = json.loads(fields_text)
    except ValueError as err:
        raise QueryError({"fields": "Value must be valid JSON."}) from err
    if not isinstance(fields, list):
        raise QueryError({"fields": "Value must be a JSON array."})
    return [str(f) for f in fields]


def pick(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Keep the requested keys plus those the server always adds."""
    out = {key: record[key] for key in fields if key in record}
    out["_uuid"] = record.get("_uuid")
    if "meta/rootUuid" in record:
        out["meta/rootUuid"] = record["meta/rootUuid"]
    out["_validation_status"] = record.get("_validation_status", {}) if "_validation_status" in fields else {}
    return out
