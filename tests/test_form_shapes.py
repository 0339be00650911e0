"""Forms nobody on the team wrote, deployed to the local server, filled by hand and synced: a
question that moved between groups across versions stays one column (as KoboToolbox's export
merges by name) unless two questions really share a name, which is kept apart and said;
legacy type names; ``audit``; ``or_other``; the ``meta/deprecatedID`` of an edit."""

from __future__ import annotations

import pytest
from hand_world import Poster, T, deploy, spec

from etl.http import HttpClient
from etl.kobo import KoboClient
from etl.normalize import form_schema, question_type
from etl.sync import sync_form
from forms.xlsform import ChoiceRow, Row
from warehouse.db import connect
from warehouse.store import WarehouseStore


@pytest.fixture()
def kobo(tmp_path):
    from fieldsim.server import LocalServer

    with LocalServer(tmp_path / "server") as server:
        client = KoboClient(HttpClient(server.api_url, server.token))
        yield client, Poster(server, client), tmp_path


def synced(client, tmp_path, uid):
    conn = connect(tmp_path / "w.duckdb")
    result = sync_form(client, WarehouseStore(conn, tmp_path / "landing"), client.asset(uid))
    return conn, result


def columns(conn, table):
    return dict(conn.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                             "ORDER BY column_index", [table]).fetchall())


def test_a_question_moved_into_a_group__one_column_one_label(kobo):
    """formpack's site_inspection: ``ping`` at the root in one version, inside a group in the
    next; robotoolbox's recordings: ``hh_sex`` under ``v0/``, ``v1/``, ``v2/``."""
    client, poster, tmp = kobo
    sexes = [ChoiceRow("sex", "f", T("Female")), ChoiceRow("sex", "m", T("Male"))]

    def version(n):
        group = [Row("begin_group", f"v{n}", label=T(f"Part {n}")),
                 Row("select_one sex", "hh_sex", label=T(f"Sex (v{n})")), Row("end_group")]
        ping = [Row("integer", "ping", label=T(f"Ping (v{n})"))]
        if n:
            ping = [Row("begin_group", "site", label=T("Site")), *ping, Row("end_group")]
        return spec("site_inspection", [*ping, *group], sexes)

    uid = None
    for n in range(3):
        uid = deploy(client, version(n), tmp, uid)
        sent = {f"v{n}": {"hh_sex": "fm"[n % 2]}}
        poster.post(uid, {"ping": 10 + n, **sent} if n == 0 else {"site": {"ping": 10 + n}, **sent})
    conn, result = synced(client, tmp, uid)
    assert result.notes == []
    table = columns(conn, "submissions_site_inspection")
    assert table["ping"] == "BIGINT" and "ping_1" not in table and "site__ping" not in table
    assert [c for c in table if "hh_sex" in c] == ["hh_sex"]
    rows = conn.execute("SELECT ping, hh_sex FROM submissions_site_inspection ORDER BY _id").fetchall()
    assert rows == [(10, "f"), (11, "m"), (12, "f")]
    assert conn.execute("SELECT question, count(*) FROM answers GROUP BY ALL ORDER BY ALL").fetchall() == [
        ("hh_sex", 3), ("ping", 3)]
    labels = conn.execute("SELECT question, language, label FROM labels WHERE choice IS NULL "
                          "AND language = 'en' ORDER BY ALL").fetchall()
    assert labels == [("hh_sex", "en", "Sex (v2)"), ("ping", "en", "Ping (v2)")]  # once, the newest
    conn.close()


def test_two_questions_that_only_share_a_name__kept_apart_and_said(kobo):
    client, poster, tmp = kobo
    old = spec("scores", [Row("integer", "score", label=T("Score"))])
    new = spec("scores", [Row("begin_group", "g1", label=T("G1")), Row("text", "score", label=T("Remark")),
                          Row("end_group"), Row("begin_group", "g2", label=T("G2")),
                          Row("date", "score", label=T("Score date")), Row("end_group")])
    uid = deploy(client, old, tmp)
    poster.post(uid, {"score": 7})
    deploy(client, new, tmp, uid)
    poster.post(uid, {"g1": {"score": "fine"}, "g2": {"score": "2026-03-01"}})
    conn, result = synced(client, tmp, uid)
    table = columns(conn, "submissions_scores")
    assert (table["score"], table["g2__score"], table["score__2"]) == ("VARCHAR", "DATE", "BIGINT")
    rows = conn.execute("SELECT score, g2__score, score__2 FROM submissions_scores ORDER BY _id").fetchall()
    assert [tuple(str(v) if v is not None else None for v in r) for r in rows] == [
        (None, None, "7"), ("fine", "2026-03-01", None)]
    notes = conn.execute("SELECT table_name, question, columns, note FROM schema_notes ORDER BY note").fetchall()
    assert [(n[0], n[1], n[2]) for n in notes] == [
        ("submissions_scores", "score", ["score", "g2__score"]),
        ("submissions_scores", "score", ["score", "score__2"])]
    assert "both in one version" in notes[0][3] and "'score' is integer" in notes[1][3]
    assert [note for note, _ in zip(result.notes, notes, strict=True)] == [n[3] for n in
                                                                           sorted(notes, key=lambda n: n[2])]
    assert "score__2" in result.summary() and "schema_notes" in result.summary()
    conn.close()


def test_legacy_type_names__typed_like_their_modern_names(kobo):
    client, poster, tmp = kobo
    form = spec("legacy", [Row("int", "people", label=T("People")), Row("string", "remark", label=T("R")),
                           Row("gps", "spot", label=T("Spot")), Row("imei", "device")])
    uid = deploy(client, form, tmp)
    poster.post(uid, {"people": 4, "remark": "x", "spot": "42.8 74.6 800 5", "device": "d1"})
    conn, _result = synced(client, tmp, uid)
    table = columns(conn, "submissions_legacy")
    assert (table["people"], table["remark"], table["spot_latitude"], table["device"]) == (
        "BIGINT", "VARCHAR", "DOUBLE", "VARCHAR")
    assert conn.execute("SELECT people, spot_longitude FROM submissions_legacy").fetchone() == (4, 74.6)
    conn.close()


@pytest.mark.parametrize(("row", "expected"), [
    ({"type": "int"}, ("integer", None, False)),
    ({"type": "string"}, ("text", None, False)),
    ({"type": "select one from yes_no"}, ("select_one", "yes_no", False)),
    ({"type": "select all that apply crops"}, ("select_multiple", "crops", False)),
    ({"type": "select_multiple crops or_other"}, ("select_multiple", "crops", True)),
    ({"type": "select_one", "select_from_list_name": "yn", "_or_other": True}, ("select_one", "yn", True)),
    ({"type": "select_one_or_other", "select_from_list_name": "yn"}, ("select_one", "yn", True)),
    ({"type": "select_one_external towns"}, ("text", "towns", False)),
    ({"type": "select one from file towns.csv"}, ("select_one", "towns.csv", False)),
    ({"type": "select1 yn"}, ("select_one", "yn", False)),
    ({"type": "add select multiple prompt using crops"}, ("select_multiple", "crops", False)),
    ({"type": {"select_one": "yn"}}, ("select_one", "yn", False)),
    ({"type": "begin lgroup"}, ("begin_repeat", None, False)),
    ({"type": "end looped group"}, ("end_repeat", None, False)),
    ({"type": "begin  group"}, ("begin_group", None, False)),
    ({"type": "gps"}, ("geopoint", None, False)),
    ({"type": "imei"}, ("text", None, False)),
    ({"type": "q note"}, ("skip", None, False)),
    ({"type": "get today"}, ("date", None, False)),
    ({"type": "q picture"}, ("media", None, False)),
    ({"type": "range"}, ("decimal", None, False)),
    ({"type": "something new"}, ("text", None, False)),
])
def test_question_type__every_pyxform_spelling(row, expected):
    assert question_type(row) == expected


def test_legacy_content__groups_repeats_and_selects_in_old_spellings(kobo):
    """Content as an older kpi kept it (not dealiased): 'begin lgroup', 'select all that apply'."""
    content = {"survey": [
        {"type": "begin lgroup", "name": "plots"}, {"type": "int", "name": "area"},
        {"type": "select all that apply crops", "name": "grown"}, {"type": "end lgroup"}],
        "choices": [{"list_name": "crops", "name": "rice", "label": ["Rice"]}], "translations": [None]}
    schema = form_schema("legacy", {"uid": "aLegacy", "content": content})
    assert [t.path for t in schema.tables] == ["", "plots"]
    assert [(f.xpath, f.kind) for f in schema.table("plots").fields] == [
        ("plots/area", "integer"), ("plots/grown", "select_multiple")]


def test_audit_or_other_and_deprecated_id__become_columns(kobo):
    client, poster, tmp = kobo
    form = spec("extras", [Row("audit", "audit"), Row("select_multiple src or_other", "water", label=T("Water")),
                           Row("begin_repeat", "visits", label=T("Visit")),
                           Row("select_one src or_other", "used", label=T("Used")), Row("end_repeat")],
                [ChoiceRow("src", "piped", T("Piped")), ChoiceRow("src", "well", T("Well"))])
    uid = deploy(client, form, tmp)
    first = poster.post(uid, {"water": "piped other", "water_other": "rain barrel",
                              "visits": [{"used": "other", "used_other": "bottled"}]},
                        meta={"audit": "audit.csv"})
    poster.post(uid, {"water": "well", "visits": []}, edits=first)
    poster.post(uid, {"water": "well"})
    conn, _result = synced(client, tmp, uid)
    rows = conn.execute('SELECT audit, water, "water/piped", "water/well", "water/other", water_other, '
                        "_deprecated_id FROM submissions_extras ORDER BY _id").fetchall()
    assert rows == [(None, "well", 0, 1, 0, None, first), (None, "well", 0, 1, 0, None, None)]
    conn.close()
    poster.post(uid, {"water": "piped other", "water_other": "rain barrel",
                      "visits": [{"used": "other", "used_other": "bottled"}]}, meta={"audit": "audit.csv"})
    conn, _result = synced(client, tmp, uid)
    last = conn.execute('SELECT audit, "water/piped", "water/other", water_other FROM submissions_extras '
                        "ORDER BY _id DESC LIMIT 1").fetchone()
    assert last == ("audit.csv", 1, 1, "rain barrel")
    assert conn.execute("SELECT used, used_other FROM repeat_extras__visits").fetchall() == [("other", "bottled")]
    assert conn.execute("SELECT count(*) FROM select_multiple WHERE choice = 'other'").fetchone() == (1,)
    assert conn.execute("SELECT DISTINCT label FROM labels WHERE choice = 'other'").fetchall() == [("Other",)]
    assert conn.execute("SELECT count(*) FROM answers WHERE question = 'audit'").fetchone() == (1,)
    conn.close()


def test_kept_type_tables__equal_what_pyxform_gives():
    # etl/xlsform_types.json spares a sync pyxform's import; it must be pyxform's own tables
    from etl.xlsform_types import from_pyxform, tables

    assert tables() == from_pyxform()
