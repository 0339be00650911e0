"""Whole-warehouse snapshots, to compare two warehouses table by table in sync tests."""

from __future__ import annotations

# columns that record when or from which file, not what: left out when two warehouses are compared
VOLATILE = {"first_seen", "last_seen", "fetched_at", "quarantined_at", "updated_at", "changed_at",
            "deployed_at", "landing_file"}


def snapshot(conn, skip: set[str] = frozenset()) -> dict:
    """Every table of the warehouse (staging, answers, select_multiple, labels, quarantine, raw,
    cursor, forms and versions, staging state), each sorted, without load timestamps or landing
    paths; superseded/deleted as flags."""
    out = {}
    names = [r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                                        "AND table_name <> '_migrations' ORDER BY 1").fetchall()]
    for table in names:
        columns = [r[0] for r in conn.execute("SELECT column_name FROM duckdb_columns() WHERE "
                                              "table_name = ? ORDER BY column_index", [table]).fetchall()]
        keep = [c for c in columns if c not in VOLATILE and c not in skip]
        select = [f'"{c}" IS NOT NULL' if c in ("superseded_at", "deleted_at") else f'"{c}"' for c in keep]
        out[table] = (keep, conn.execute(f'SELECT {", ".join(select)} FROM "{table}" ORDER BY ALL').fetchall())
    return out


def assert_same(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for table in expected:
        assert got[table] == expected[table], f"table {table} differs"
