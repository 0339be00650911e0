"""Ordered, named migrations of the warehouse's own tables, recorded in ``_migrations``.

Tables people and BI tools query keep their names forever; columns may be added, never renamed.
"""

from __future__ import annotations

import duckdb

from warehouse.transaction import transaction

MIGRATIONS: list[tuple[str, str]] = [
    ("001_raw_and_state", """
        CREATE TABLE raw_submissions (
            asset_uid VARCHAR NOT NULL,
            _id BIGINT NOT NULL,
            _uuid VARCHAR NOT NULL,
            root_uuid VARCHAR,
            version VARCHAR,
            submission_time TIMESTAMP,
            validation_status VARCHAR,
            payload JSON NOT NULL,
            payload_hash VARCHAR NOT NULL,
            landing_file VARCHAR,
            first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL,
            superseded_at TIMESTAMP,
            deleted_at TIMESTAMP,
            PRIMARY KEY (asset_uid, _id, _uuid)
        );
        CREATE TABLE sync_cursor (
            asset_uid VARCHAR PRIMARY KEY,
            form_id VARCHAR NOT NULL,
            last_id BIGINT NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE quarantine (
            asset_uid VARCHAR NOT NULL,
            form_id VARCHAR,
            _id BIGINT,
            _uuid VARCHAR,
            reason VARCHAR NOT NULL,
            payload VARCHAR,
            landing_file VARCHAR,
            quarantined_at TIMESTAMP NOT NULL
        );
        CREATE TABLE forms (
            form_id VARCHAR PRIMARY KEY,
            asset_uid VARCHAR NOT NULL,
            name VARCHAR,
            deployed_version_id VARCHAR,
            content JSON NOT NULL,
            fetched_at TIMESTAMP NOT NULL
        );
        CREATE TABLE form_deployments (
            form_id VARCHAR NOT NULL,
            asset_uid VARCHAR NOT NULL,
            form_version VARCHAR NOT NULL,
            version_id VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            deployed_at TIMESTAMP NOT NULL
        );
        CREATE TABLE answers (
            form_id VARCHAR NOT NULL,
            submission_id BIGINT NOT NULL,
            repeat_path VARCHAR NOT NULL,
            _index BIGINT NOT NULL,
            question VARCHAR NOT NULL,
            value VARCHAR,
            value_numeric DOUBLE
        );
        CREATE TABLE labels (
            form_id VARCHAR NOT NULL,
            question VARCHAR NOT NULL,
            choice VARCHAR,
            language VARCHAR NOT NULL,
            label VARCHAR NOT NULL
        );
        CREATE TABLE select_multiple (
            form_id VARCHAR NOT NULL,
            submission_id BIGINT NOT NULL,
            repeat_path VARCHAR NOT NULL,
            _index BIGINT NOT NULL,
            question VARCHAR NOT NULL,
            choice VARCHAR NOT NULL
        );
    """),
    ("002_staging_state", """
        CREATE TABLE staging_state (
            asset_uid VARCHAR PRIMARY KEY,
            stale BOOLEAN NOT NULL,
            changed_at TIMESTAMP NOT NULL
        );
    """),
    ("003_form_versions", """
        -- the content of every version a form's submissions may have been filled in, fetched
        -- once from the server (content NULL: the server does not know that version)
        CREATE TABLE form_versions (
            asset_uid VARCHAR NOT NULL,
            version_uid VARCHAR NOT NULL,
            content JSON,
            date_modified VARCHAR,
            fetched_at TIMESTAMP NOT NULL,
            PRIMARY KEY (asset_uid, version_uid)
        );
    """),
    ("004_one_asset_one_set_of_tables", """
        -- forms: one row per asset (two projects may share a form_id: a clone keeps it)
        CREATE TABLE forms_by_asset (
            form_id VARCHAR NOT NULL,
            asset_uid VARCHAR PRIMARY KEY,
            name VARCHAR,
            deployed_version_id VARCHAR,
            content JSON NOT NULL,
            fetched_at TIMESTAMP NOT NULL
        );
        INSERT INTO forms_by_asset SELECT * FROM forms;
        DROP TABLE forms;
        ALTER TABLE forms_by_asset RENAME TO forms;

        -- the long tables say which asset a row comes from (the form_id alone may be shared)
        ALTER TABLE answers ADD COLUMN asset_uid VARCHAR;
        ALTER TABLE select_multiple ADD COLUMN asset_uid VARCHAR;
        ALTER TABLE labels ADD COLUMN asset_uid VARCHAR;
        ALTER TABLE labels ADD COLUMN repeat_path VARCHAR;
        UPDATE answers SET asset_uid = f.asset_uid FROM forms f WHERE f.form_id = answers.form_id;
        UPDATE select_multiple SET asset_uid = f.asset_uid FROM forms f
        WHERE f.form_id = select_multiple.form_id;
        UPDATE labels SET asset_uid = f.asset_uid FROM forms f WHERE f.form_id = labels.form_id;

        -- the name given to each asset's tables, for good (warehouse/names.py)
        CREATE TABLE form_tables (
            asset_uid VARCHAR NOT NULL,
            form_id VARCHAR NOT NULL,
            repeat_path VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            PRIMARY KEY (asset_uid, repeat_path)
        );
        -- tables built before: the submissions table of each form, and its repeat tables under
        -- a placeholder path ('?' || name) that the form claims at its next rebuild
        INSERT INTO form_tables
        SELECT asset_uid, form_id, '', 'submissions_' || base FROM (
            SELECT asset_uid, form_id, fetched_at, coalesce(nullif(trim(regexp_replace(
                lower(form_id), '[^a-z0-9_]+', '_', 'g'), '_'), ''), 'form') AS base FROM forms)
        QUALIFY row_number() OVER (PARTITION BY base ORDER BY fetched_at, asset_uid) = 1;
        INSERT INTO form_tables
        SELECT f.asset_uid, f.form_id, '?' || t.table_name, t.table_name
        FROM duckdb_tables() t
        JOIN form_tables f ON f.repeat_path = '' AND starts_with(
            t.table_name, 'repeat_' || substr(f.table_name, length('submissions_') + 1) || '__')
        WHERE NOT t.temporary
        QUALIFY row_number() OVER (PARTITION BY t.table_name ORDER BY length(f.table_name) DESC) = 1;

        -- what the staging tables of each asset were last built for (warehouse/staging.py):
        -- the shape of the form, the payload keys no question of it has (extra columns), and
        -- which submission has which of those keys
        CREATE TABLE staging_shape (
            asset_uid VARCHAR PRIMARY KEY,
            fingerprint VARCHAR NOT NULL,
            extras VARCHAR[] NOT NULL
        );
        CREATE TABLE staging_extra_keys (
            asset_uid VARCHAR NOT NULL,
            _id BIGINT NOT NULL,
            key VARCHAR NOT NULL
        );

        -- what the data manager should know about a form's tables, e.g. two questions that
        -- share a name across versions and are kept apart
        CREATE TABLE schema_notes (
            asset_uid VARCHAR NOT NULL,
            form_id VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            question VARCHAR NOT NULL,
            columns VARCHAR[] NOT NULL,
            note VARCHAR NOT NULL
        );
    """),
    ("005_attachments", """
        -- every file a submission listed (photo, audio, ...), downloaded once into the
        -- attachments folder beside the warehouse file; never removed
        CREATE TABLE attachments (
            asset_uid VARCHAR NOT NULL,
            _id BIGINT NOT NULL,
            _uuid VARCHAR NOT NULL,         -- the version of the submission that first listed it
            basename VARCHAR NOT NULL,      -- the file's name: the answer of its question
            attachment_uid VARCHAR,         -- the server's id of the file ('att...', or a number)
            question_xpath VARCHAR,         -- the answer's path, repeats numbered: grp/rep[2]/photo
            question VARCHAR,               -- the same without the numbers: the form's question
            mimetype VARCHAR,
            size BIGINT NOT NULL,           -- bytes
            sha256 VARCHAR NOT NULL,
            local_path VARCHAR NOT NULL,    -- relative to the warehouse file's folder
            downloaded_at TIMESTAMP NOT NULL,
            superseded_at TIMESTAMP,        -- a later edit of the submission no longer lists it
            PRIMARY KEY (asset_uid, _id, basename)
        );
        -- the raw rows (submission versions) whose listed files are all in 'attachments'
        CREATE TABLE attachment_checks (
            asset_uid VARCHAR NOT NULL,
            _id BIGINT NOT NULL,
            _uuid VARCHAR NOT NULL,
            checked_at TIMESTAMP NOT NULL,
            PRIMARY KEY (asset_uid, _id, _uuid)
        );
    """),
]


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; return their names."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with transaction(conn):
            conn.execute(sql)
            conn.execute("INSERT INTO _migrations VALUES (?, now())", [name])
        applied.append(name)
    return applied
