"""The three generated forms: what they contain, that they pass pyxform and ODK Validate, that the
same definition gives the same cells and version, and that the committed forms are current."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, PACKAGE_DIR
from forms.build import build_forms, generate_forms
from forms.xlsform import write_xlsform

LANG_HEADERS = ["label::Русский (ru)", "label::Кыргызча (ky)", "label::English (en)"]
FORM_IDS = ["citizen_survey", "lsg_assessment", "focus_group"]


def read_sheets(path: Path) -> dict[str, list[list[str]]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
            for ws in workbook.worksheets}


def rows_by_name(sheet: list[list[str]]) -> dict[str, dict[str, str]]:
    header = sheet[0]
    return {row[1]: dict(zip(header, row, strict=False)) for row in sheet[1:] if row[1]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build once with ODK Validate (Java) for the whole module."""
    out = tmp_path_factory.mktemp("forms")
    return build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, out, validate=True), out


@pytest.mark.java
def test_build__writes_three_forms_and_their_xforms_validated_by_odk_validate(built):
    result, out = built
    assert [f.form_id for f in result.forms] == FORM_IDS
    for form in result.forms:
        assert form.xlsx.exists() and form.xml.exists()
        root = ET.parse(form.xml).getroot()
        assert root.tag.endswith("html")
        instance = root.find(".//{http://www.w3.org/2002/xforms}instance/*")
        assert instance.attrib["id"] == form.form_id
        assert instance.attrib["version"] == form.version
    assert (out / "sample_plan.csv").exists()
    assert "citizen_survey" in result.summary() and "version" in result.summary()


@pytest.mark.java
def test_forms__carry_three_language_columns_and_a_default_language(built):
    _, out = built
    for form_id in FORM_IDS:
        sheets = read_sheets(out / f"{form_id}.xlsx")
        for header in LANG_HEADERS:
            assert header in sheets["survey"][0]
            assert header in sheets["choices"][0]
        settings = dict(zip(sheets["settings"][0], sheets["settings"][1], strict=False))
        assert settings["form_id"] == form_id
        assert settings["default_language"] == "Русский (ru)"
        # every labelled row has all three labels
        header = sheets["survey"][0]
        idx = [header.index(h) for h in LANG_HEADERS]
        for row in sheets["survey"][1:]:
            labels = [row[i] for i in idx]
            assert all(labels) or not any(labels), row[:2]


@pytest.mark.java
def test_citizen_survey__consent_gate_cascade_services_priorities_and_metadata(built, study):
    definition, geography = study
    _, out = built
    sheets = read_sheets(out / "citizen_survey.xlsx")
    rows = rows_by_name(sheets["survey"])
    for meta in ("start", "end", "today", "deviceid", "audit"):
        assert rows[meta]["type"] == meta
    assert rows["gps"]["type"] == "geopoint" and rows["gps"].get("required", "") == ""
    assert rows["rayon"]["choice_filter"] == "oblast=${oblast}"
    assert rows["municipality"]["choice_filter"] == "rayon=${rayon}"
    assert rows["village"]["choice_filter"] == "municipality=${municipality}"
    assert rows["profile"]["relevant"] == "${consent} = 'yes'"
    assert rows["resp_age_group"]["type"] == "calculate"
    for service in definition.services:
        group = rows[service.prefix]
        assert "${consent} = 'yes'" in group["relevant"]
        assert rows[f"{service.prefix}_use"]["type"] == "select_one usage"
        for item in service.items:
            assert rows[item.code]["relevant"] == f"${{{service.prefix}_use}} = '1'"
    san_where = [m.code for m in geography.municipalities.values() if "sewerage" in m.features]
    assert f"selected('{' '.join(san_where)}', ${{municipality}})" in rows["san"]["relevant"]
    assert rows["priority_services"]["constraint"] == "count-selected(.) <= 3"
    settings = dict(zip(sheets["settings"][0], sheets["settings"][1], strict=False))
    assert "${village}" in settings["instance_name"] and "${enumerator}" in settings["instance_name"]
    names = [r[1] for r in sheets["survey"][1:] if r[1]]
    assert len(names) == len(set(names)), "field names must be unique"


@pytest.mark.java
def test_lsg_assessment__every_indicator_typed_with_unit_bounds_evidence_and_photo(built, study):
    definition, _ = study
    _, out = built
    rows = rows_by_name(read_sheets(out / "lsg_assessment.xlsx")["survey"])
    for ind in definition.indicators:
        row = rows[ind.code]
        expected = "select_one yes_no" if ind.answer == "yes_no" else ind.answer
        assert row["type"] == expected, ind.code
        if ind.unit == "percent":
            assert row["constraint"] == ". >= 0 and . <= 100"
        assert rows[f"{ind.code}_verified"]["type"] == "select_one yes_no"
        assert rows[f"{ind.code}_doc"]["relevant"] == f"${{{ind.code}_verified}} = 'yes'"
        assert rows[f"{ind.code}_photo"]["type"] == "image"
    assert rows["comments"]["type"] == "text"


@pytest.mark.java
def test_focus_group__roster_themes_with_nested_quotes_ranking_scores_audio(built):
    _, out = built
    survey = read_sheets(out / "focus_group.xlsx")["survey"]
    types = [(r[0], r[1]) for r in survey[1:]]
    assert ("background-audio", "fg_audio") in types
    assert ("begin_repeat", "fg_participant") in types
    assert ("rank services", "fg_ranking") in types
    theme = types.index(("begin_repeat", "fg_theme"))
    quote = types.index(("begin_repeat", "fg_quote"))
    ends = [i for i, t in enumerate(types) if t[0] == "end_repeat"]
    assert theme < quote < ends[-2] < ends[-1]  # quotes nest inside themes
    rows = rows_by_name(survey)
    assert rows["fg_theme_agreed"]["constraint"] == ". >= 0 and . <= ${fg_n_participants}"
    assert "selected-at(${fg_ranking}, 0) = 'WAT'" in rows["wat_fg_satisfaction"]["relevant"]
    assert "lsg_staff" in rows["wat_fg_performance"]["relevant"]


def test_field_names__start_with_the_service_code(study):
    definition, geography = study
    codes = {s.prefix for s in definition.services}
    for spec in generate_forms(definition, geography):
        for row in spec.survey:
            prefix = row.name.split("_")[0]
            if prefix in codes and row.type != "begin_group":
                assert row.name.startswith(prefix + "_")
        for service in definition.services:
            for item in service.items:
                assert item.code.startswith(service.prefix + "_")


def test_version__same_definition_same_cells_and_version(study, tmp_path):
    definition, geography = study
    first = generate_forms(definition, geography)
    second = generate_forms(definition, geography)
    for a, b in zip(first, second, strict=True):
        assert a.version == b.version
        write_xlsform(a, tmp_path / "a.xlsx")
        write_xlsform(b, tmp_path / "b.xlsx")
        assert read_sheets(tmp_path / "a.xlsx") == read_sheets(tmp_path / "b.xlsx")
        assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_version__changes_only_for_the_forms_whose_content_changed(definition_data, write_definition):
    from forms.build import load_study

    data = copy.deepcopy(definition_data)
    before = {s.form_id: s.version for s in generate_forms(*load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY))}
    data["services"][0]["indicators"][0]["text"]["en"] += " (revised)"
    after = {s.form_id: s.version for s in generate_forms(*load_study(write_definition(data), BUNDLED_GEOGRAPHY))}
    assert after["lsg_assessment"] != before["lsg_assessment"]
    assert after["citizen_survey"] == before["citizen_survey"]
    assert re.fullmatch(r"[0-9a-f]{12}", after["lsg_assessment"])


def test_committed_forms__match_the_definition(study, tmp_path):
    """forms/xlsform/ holds generated files only: they must equal a fresh build, cell for cell."""
    definition, geography = study
    for spec in generate_forms(definition, geography):
        committed = PACKAGE_DIR / "xlsform" / f"{spec.form_id}.xlsx"
        assert committed.exists(), f"run 'aimak forms build' and commit {committed}"
        fresh = tmp_path / committed.name
        write_xlsform(spec, fresh)
        assert read_sheets(committed) == read_sheets(fresh), (
            f"{committed} is stale: run 'aimak forms build' and commit the result")
