"""Mongo-style ``query``, ``sort`` and ``fields`` of ``/data/`` as SQL over the stored records."""

from __future__ import annotations

import json
from typing import Any


class QueryError(ValueError):
    """A request parameter or body the real server answers with 400; ``body`` is its JSON."""

    def __init__(self, body: Any):
        super().__init__(str(body))
        self.body = body


COLUMNS = {"_id": "id", "_uuid": "uuid", "_submission_time": "submission_time",
           "_validation_status.uid": "json_extract(validation, '$.uid')",
           "meta/rootUuid": "root_uuid", "_submitted_by": "submitted_by"}
# Mongo's $eq/$ne treat a missing field as null, as SQLite's IS / IS NOT treat NULL
OPERATORS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<=", "$ne": "IS NOT", "$eq": "IS"}
Fragment = tuple[str, list[Any]]


def _column(key: str) -> Fragment:
    """The SQL of a record's field and its parameters. Answer keys are bound as a JSON path,
    never pasted into the SQL. A key no record can hold is NULL, as a missing field in Mongo:
    kpi base64-encodes keys with a dot or a leading ``$``, and a key with ``"`` is no XPath
    (nor can SQLite's JSON path spell it)."""
    if key in COLUMNS:
        return COLUMNS[key], []
    if "." in key or key.startswith("$") or '"' in key:
        return "NULL", []
    return "json_extract(body, ?)", [f'$."{key}"']


def _value(value: Any) -> Any:
    """A query value as SQLite compares it: objects and lists as json_extract returns them."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _in(column: Fragment, values: Any) -> Fragment:
    """``$in``, never NULL so that ``NOT`` gives ``$nin``; a null in the list matches a missing
    field."""
    if not isinstance(values, list):
        raise QueryError(["Unsupported query"])
    sql, params = column
    present = [_value(v) for v in values if v is not None]
    terms, out = [], []
    if present:
        terms.append(f"coalesce({sql} IN ({', '.join('?' for _ in present)}), 0)")
        out += params + present
    if len(present) < len(values):
        terms.append(f"{sql} IS NULL")
        out += params
    return ("(" + " OR ".join(terms) + ")" if terms else "0"), out


def where(query_text: str | None) -> Fragment:
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


def _conditions(query: Any) -> Fragment:
    if not isinstance(query, dict):
        raise QueryError(["Unsupported query"])
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
        sql, path = column
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            for op, value in condition.items():
                if op in OPERATORS:
                    parts.append(f"{sql} {OPERATORS[op]} ?")
                    params += path + [_value(value)]
                elif op in ("$in", "$nin"):
                    part, part_params = _in(column, value)
                    parts.append(part if op == "$in" else f"NOT {part}")
                    params += part_params
                elif op == "$exists":
                    parts.append(f"{sql} IS {'NOT ' if value else ''}NULL")
                    params += path
                else:
                    raise QueryError(["Unsupported query"])
        else:
            parts.append(f"{sql} IS ?")
            params += path + [_value(condition)]
    return (" AND ".join(parts) or "1"), params


def order_by(sort_text: str | None) -> Fragment:
    """``ORDER BY`` terms and their parameters for a ``sort`` parameter (``_id`` breaks ties)."""
    if not sort_text:
        return "id ASC", []
    try:
        sort = json.loads(sort_text)
    except ValueError as err:
        raise QueryError({"sort": "Value must be valid JSON."}) from err
    terms, params = [], []
    for key, direction in (sort.items() if isinstance(sort, dict) else []):
        sql, path = _column(key)
        if sql == "NULL":
            continue  # every record ties on a field none holds
        terms.append(f"{sql} {'DESC' if direction in (-1, '-1', 'desc') else 'ASC'}")
        params += path
    return ", ".join(terms + ["id ASC"]), params


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
