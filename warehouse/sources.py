"""The synced tables of the study's own forms, seen by the models under fixed names.

The models read ``src_citizen``, ``src_lsg``, ``src_fg`` and the focus-group repeats
(``src_fg_participant``, ``src_fg_theme``, ``src_fg_quote``), ``src_answers`` and
``src_choices`` (the long tables of the three forms). Each is a view over the form's typed table
with exactly the columns the models use: a column the synced table lacks (an older form version,
a form not synced yet) is NULL, so the scores run on whatever exists. Only these columns are named
here, all of them fixed by the form builders in ``forms/``; services, items and indicators are
reached through the long ``answers`` table and the ``dim_*`` tables, never by column name.
"""

from __future__ import annotations

import duckdb

from aimak.errors import ScoringError
from warehouse.payloads import lit, q

CITIZEN, LSG, FOCUS_GROUP = "citizen_survey", "lsg_assessment", "focus_group"
STUDY_FORMS = (CITIZEN, LSG, FOCUS_GROUP)

META = {"_id": "BIGINT", "_uuid": "VARCHAR", "_instance_id": "VARCHAR",
        "_submission_time": "TIMESTAMP", "_validation_status": "VARCHAR", "study_round": "VARCHAR",
        "start": "TIMESTAMPTZ", "end": "TIMESTAMPTZ", "deviceid": "VARCHAR"}
LOCATION = {"oblast": "VARCHAR", "rayon": "VARCHAR", "municipality": "VARCHAR"}
REPEAT = {"_index": "BIGINT", "_parent_index": "BIGINT", "_submission__id": "BIGINT"}

# view -> (form id, repeat path or '' for the submissions table, columns and their types)
SOURCES: dict[str, tuple[str, str, dict[str, str]]] = {
    "src_citizen": (CITIZEN, "", {
        **META, **LOCATION, "village": "VARCHAR", "enumerator": "VARCHAR", "consent": "VARCHAR",
        "resp_sex": "VARCHAR", "resp_age": "BIGINT", "resp_age_group": "VARCHAR",
        "gps_latitude": "DOUBLE", "gps_longitude": "DOUBLE", "gps_accuracy": "DOUBLE"}),
    "src_lsg": (LSG, "", {**META, **LOCATION, "assessor": "VARCHAR",
                          "assessment_date": "DATE"}),
    "src_fg": (FOCUS_GROUP, "", {
        **META, **LOCATION, "village": "VARCHAR", "fg_date": "DATE", "fg_group_type": "VARCHAR",
        "fg_moderator": "VARCHAR", "fg_language": "VARCHAR", "fg_n_participants": "VARCHAR"}),
    "src_fg_participant": (FOCUS_GROUP, "fg_participant", {
        **REPEAT, "fg_p_code": "VARCHAR", "fg_p_sex": "VARCHAR", "fg_p_age_group": "VARCHAR",
        "fg_p_role": "VARCHAR"}),
    "src_fg_theme": (FOCUS_GROUP, "fg_theme", {
        **REPEAT, "fg_theme_service": "VARCHAR", "fg_theme_code": "VARCHAR",
        "fg_theme_sentiment": "VARCHAR", "fg_theme_agreed": "BIGINT", "fg_theme_summary": "VARCHAR",
        "fg_theme_recommendation": "VARCHAR"}),
    "src_fg_quote": (FOCUS_GROUP, "fg_theme/fg_quote", {
        **REPEAT, "fg_quote_text": "VARCHAR", "fg_quote_participant": "VARCHAR",
        "fg_quote_minute": "BIGINT"}),
}


def study_asset(conn: duckdb.DuckDBPyConnection, form_id: str) -> str | None:
    """The asset holding the study form ``form_id``: the one ``aimak forms deploy`` deployed it
    to last, else the only synced asset with that form id (None: not synced yet). Two synced
    assets with the form id and no deployment record are a :class:`ScoringError`: a cloned
    project must not be scored as if it were the study's."""
    deployed = conn.execute("""
        SELECT d.asset_uid FROM form_deployments d JOIN forms f USING (asset_uid)
        WHERE d.form_id = ? ORDER BY d.deployed_at DESC LIMIT 1""", [form_id]).fetchone()
    if deployed:
        return deployed[0]
    synced = [row[0] for row in conn.execute(
        "SELECT asset_uid FROM forms WHERE form_id = ? ORDER BY asset_uid", [form_id]).fetchall()]
    if len(synced) > 1:
        raise ScoringError(
            f"{len(synced)} synced forms have the form id {form_id!r} (assets {', '.join(synced)}), "
            "and none was deployed by aimak, so the study's cannot be told from a copy. Fix: "
            "deploy the study's forms with 'aimak forms deploy' (it records the asset), or "
            "archive the copy on the server.")
    return synced[0] if synced else None


def form_tables(conn: duckdb.DuckDBPyConnection, asset_uid: str | None) -> dict[str, str]:
    """repeat path ('' for the submissions table) -> the synced table of that asset."""
    if asset_uid is None:
        return {}
    tables = {row[0] for row in conn.execute(
        "SELECT lower(table_name) FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    return {path: name for path, name in conn.execute(
        "SELECT repeat_path, table_name FROM form_tables WHERE asset_uid = ?", [asset_uid]).fetchall()
        if name.lower() in tables}


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}


def create_source_views(conn: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """(Re)create every ``src_*`` view; return view -> the table behind it (None: empty)."""
    behind: dict[str, str | None] = {}
    assets = {form: study_asset(conn, form) for form in STUDY_FORMS}
    tables = {form: form_tables(conn, uid) for form, uid in assets.items()}
    for view, (form, path, columns) in SOURCES.items():
        table = tables[form].get(path)
        have = _columns(conn, table) if table else set()
        select = ", ".join(
            f"TRY_CAST({q(col)} AS {sqltype}) AS {q(col)}" if col in have
            else f"CAST(NULL AS {sqltype}) AS {q(col)}"
            for col, sqltype in columns.items())
        source = f"FROM {q(table)}" if table else "WHERE false"
        conn.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {select} {source}")
        behind[view] = table
    # the long tables of the study's assets, under the study's own form ids
    which = " ".join(f"WHEN {lit(uid)} THEN {lit(form)}" for form, uid in assets.items() if uid)
    form = f"CASE asset_uid {which} END" if which else "CAST(NULL AS VARCHAR)"
    uids = ", ".join(lit(uid) for uid in assets.values() if uid) or "NULL"
    conn.execute(f"""CREATE OR REPLACE VIEW src_answers AS
        SELECT {form} AS form_id, submission_id, repeat_path, _index, question, value,
               value_numeric
        FROM answers WHERE asset_uid IN ({uids})""")
    conn.execute(f"""CREATE OR REPLACE VIEW src_choices AS
        SELECT {form} AS form_id, submission_id, repeat_path, _index, question, choice
        FROM select_multiple WHERE asset_uid IN ({uids})""")
    conn.execute(f"""CREATE OR REPLACE VIEW src_instance_names AS
        SELECT {form} AS form_id, _id AS submission_id,
               json_extract_string(payload, '$."meta/instanceName"') AS instance_name
        FROM raw_submissions
        WHERE asset_uid IN ({uids}) AND superseded_at IS NULL AND deleted_at IS NULL""")
    return behind
