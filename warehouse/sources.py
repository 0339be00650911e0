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

from warehouse.staging import lit, q

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


def form_tables(conn: duckdb.DuckDBPyConnection, form_id: str) -> dict[str, str]:
    """repeat path ('' for the submissions table) -> the synced table of the study form
    ``form_id``, for the asset the study deployed (or the only asset with that form id)."""
    from etl.normalize import safe_name  # the naming rule of the synced tables

    main = f"submissions_{safe_name(form_id)}"
    tables = {row[0] for row in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    found = {"": main} if main in tables else {}
    for name in tables:
        prefix = f"repeat_{safe_name(form_id)}__"
        if name.startswith(prefix):
            found[name[len(prefix):]] = name
    return found


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}


def create_source_views(conn: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """(Re)create every ``src_*`` view; return view -> the table behind it (None: empty)."""
    behind: dict[str, str | None] = {}
    tables = {form: form_tables(conn, form) for form in STUDY_FORMS}
    for view, (form, path, columns) in SOURCES.items():
        table = tables[form].get(path.rsplit("/", 1)[-1] if path else "")
        have = _columns(conn, table) if table else set()
        select = ", ".join(
            f"TRY_CAST({q(col)} AS {sqltype}) AS {q(col)}" if col in have
            else f"CAST(NULL AS {sqltype}) AS {q(col)}"
            for col, sqltype in columns.items())
        source = f"FROM {q(table)}" if table else "WHERE false"
        conn.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {select} {source}")
        behind[view] = table
    forms = ", ".join(lit(f) for f in STUDY_FORMS)
    conn.execute(f"""CREATE OR REPLACE VIEW src_answers AS
        SELECT form_id, submission_id, repeat_path, _index, question, value, value_numeric
        FROM answers WHERE form_id IN ({forms})""")
    conn.execute(f"""CREATE OR REPLACE VIEW src_choices AS
        SELECT form_id, submission_id, repeat_path, _index, question, choice
        FROM select_multiple WHERE form_id IN ({forms})""")
    conn.execute(f"""CREATE OR REPLACE VIEW src_instance_names AS
        SELECT f.form_id, r._id AS submission_id,
               json_extract_string(r.payload, '$."meta/instanceName"') AS instance_name
        FROM raw_submissions r JOIN forms f USING (asset_uid)
        WHERE f.form_id IN ({forms}) AND r.superseded_at IS NULL AND r.deleted_at IS NULL""")
    return behind
