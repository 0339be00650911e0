"""What a run tells the data manager, read from the warehouse: the run's summary in markdown and
the gap matrix as a table, for the Prefect artifacts of ``aimak run`` (``flows/artifacts.py``).

"Since the previous run" is measured, not guessed: :func:`snapshot` reads the gap statuses and the
quality flags before the run scores, :func:`run_markdown` compares them with what the scoring left.
No Prefect import here, so the texts are tested without a Prefect server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import connect, table_exists

REJECTED = "validation_status_not_approved"


@dataclass(frozen=True)
class Snapshot:
    """The scored state of a warehouse at one moment: each gap's status, each quality flag."""

    statuses: dict[tuple[str, str, str], str] = field(default_factory=dict)
    flags: frozenset[tuple[Any, str]] = frozenset()


def snapshot(warehouse: Path) -> Snapshot:
    """The warehouse's gap statuses and flags now (empty when it does not exist or was never
    scored): taken before a run scores, to say afterwards what changed."""
    if not Path(warehouse).exists():
        return Snapshot()
    with connect(warehouse, read_only=True) as conn:
        return _snapshot(conn)


def _snapshot(conn: duckdb.DuckDBPyConnection) -> Snapshot:
    statuses, flags = {}, frozenset()
    if table_exists(conn, "gap_scores"):
        statuses = {(r, m, s): status for r, m, s, status in conn.execute(
            "SELECT round, municipality_code, service_code, gap_status FROM gap_scores").fetchall()}
    if table_exists(conn, "quality_flags"):
        flags = frozenset(conn.execute("SELECT submission_id, rule FROM quality_flags").fetchall())
    return Snapshot(statuses, flags)


def run_markdown(warehouse: Path, synced: Sequence[Any], before: Snapshot,
                 files: Sequence[Path] = ()) -> str:
    """The run's summary for the Prefect UI: per form, the submissions new, edited, deleted,
    quarantined and rejected; interviews left out of the scores by reason; quality flags raised
    since the previous run; gaps whose status changed since then; the files written."""
    with connect(warehouse, read_only=True) as conn:
        after = _snapshot(conn)
        rejected = dict(conn.execute(
            "SELECT f.form_id, count(*) FILTER (WHERE r.validation_status = ?) FROM forms f "
            "LEFT JOIN raw_submissions r ON r.asset_uid = f.asset_uid AND r.superseded_at IS NULL "
            "AND r.deleted_at IS NULL GROUP BY f.form_id", [REJECTED]).fetchall())
        excluded = conn.execute(
            "SELECT reason, sum(excluded)::INT, sum(flagged)::INT FROM exclusions "
            "GROUP BY reason HAVING sum(flagged) > 0 ORDER BY 2 DESC, 1").fetchall() \
            if table_exists(conn, "exclusions") else []
        gaps = {(r, m, s): g for r, m, s, g in conn.execute(
            "SELECT round, municipality_code, service_code, gap FROM gap_scores").fetchall()} \
            if table_exists(conn, "gap_scores") else {}
    new_flags = sorted(Counter(rule for _id, rule in after.flags - before.flags).items())
    lines = ["# Aimak run", "", "## Submissions", ""]
    lines += ["| form | new | edited | deleted | quarantined | rejected (now) |",
              "|---|---:|---:|---:|---:|---:|"] if synced else ["no sync in this run"]
    lines += [f"| {s.form_id} | {s.new} | {s.edited} | {s.deleted} | {s.quarantined} | "
              f"{rejected.get(s.form_id, 0)} |" for s in synced]
    lines += ["", "## Interviews left out of the scores", ""]
    lines += ["| reason | left out | flagged |", "|---|---:|---:|"] if excluded else ["none"]
    lines += [f"| {reason} | {out} | {flagged} |" for reason, out, flagged in excluded]
    lines += ["", "## Quality flags raised since the previous run", ""]
    lines += [f"- {rule}: {count}" for rule, count in new_flags] or ["none"]
    lines += ["", "## Gaps whose status changed since the previous run", ""]
    changed = [(key, before.statuses[key], status) for key, status in sorted(after.statuses.items())
               if key in before.statuses and before.statuses[key] != status]
    new_cells = [key for key in after.statuses if key not in before.statuses]
    lines += [f"- {r} · {m} · {s}: {was} → {now} (G {_signed(gaps.get((r, m, s)))})"
              for (r, m, s), was, now in changed] or ["none"]
    if new_cells:
        lines.append(f"- {len(new_cells)} cell(s) scored for the first time")
    if files:
        lines += ["", "## Files written", ""] + [f"- {Path(p).name}" for p in files]
    return "\n".join(lines) + "\n"


def gap_matrix(warehouse: Path, round_code: str | None = None) -> list[dict[str, Any]]:
    """The gap of every municipality × service of the round (default: the latest scored), one
    row per municipality: ``G status`` per service, ``*`` where suppressed."""
    with connect(warehouse, read_only=True) as conn:
        if not table_exists(conn, "gap_scores"):
            return []
        if round_code is None:
            row = conn.execute("SELECT round FROM dim_round ORDER BY position DESC NULLS LAST, round DESC "
                               "LIMIT 1").fetchone()
            round_code = row[0] if row else None
        cells = conn.execute(
            "SELECT municipality_code, service_code, gap, gap_status, suppressed FROM gap_scores "
            "WHERE round = ? ORDER BY municipality_code, service_code", [round_code]).fetchall()
    rows: dict[str, dict[str, Any]] = {}
    for place, service, gap, status, suppressed in cells:
        row = rows.setdefault(place, {"municipality": place})
        row[service] = "*" if suppressed else f"{_signed(gap)} {status}"
    return list(rows.values())


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"
