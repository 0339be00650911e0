"""The study definition: the bundled one loads, and every mistake a person can make is reported
with the file, the line, the field, the bad value and the fix — all of them in one run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from aimak.errors import DefinitionError
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import build_forms, load_study
from forms.loader import CORE_SERVICES, OPTIONAL_SERVICES, load_definition


def service(data: dict, code: str) -> dict:
    return next(s for s in data["services"] if s["code"] == code)


def test_bundled_definition__loads_with_every_service_item_and_indicator(study):
    definition, geography = study
    codes = [s.code for s in definition.services]
    assert codes == list(CORE_SERVICES + OPTIONAL_SERVICES)
    for s in definition.services:
        assert 2 <= len(s.items) <= 3, s.code
        assert 2 <= len(s.indicators) <= 4, s.code
        for ind in s.indicators:
            assert ind.code.startswith(s.code.lower() + "_")
            assert ind.floor != ind.target
            assert ind.evidence.ru and ind.evidence.ky and ind.evidence.en
    assert definition.method.gap_threshold == 10
    assert set(geography.oblasts) == {"JA", "NR"}
    assert len(geography.municipalities) == 4
    for m in geography.municipalities.values():
        assert 5 <= len(m.villages) <= 10


# Each case: (what is changed, the field the error must name, words the problem must contain)
def _missing_translation(d):
    del service(d, "WAT")["name"]["ky"]


def _empty_translation(d):
    service(d, "SWM")["usage"]["en"] = "  "


def _duplicate_item_code(d):
    items = service(d, "WAT")["satisfaction_items"]
    items[1]["code"] = items[0]["code"]


def _duplicate_code_across_services(d):
    service(d, "SWM")["indicators"][0]["code"] = "swm_x"
    service(d, "SWM")["satisfaction_items"][0]["code"] = "swm_x"


def _duplicate_service(d):
    d["services"].append(copy.deepcopy(service(d, "LGT")))


def _unknown_service(d):
    service(d, "SPO")["code"] = "GYM"


def _unknown_scale(d):
    d["governance_items"][0]["scale"] = "likert7"


def _floor_equals_target(d):
    ind = service(d, "RD")["indicators"][0]
    ind["target"] = ind["floor"]


def _unknown_direction(d):
    service(d, "KG")["indicators"][0]["direction"] = "up"


def _negative_weight(d):
    service(d, "CUL")["indicators"][0]["weight"] = -1


def _unknown_unit(d):
    service(d, "PUB")["indicators"][0]["unit"] = "hectares"


def _missing_prefix(d):
    service(d, "CEM")["satisfaction_items"][0]["code"] = "upkeep"


def _bad_code(d):
    service(d, "SOC")["indicators"][0]["code"] = "soc Share"


def _unknown_answer_type(d):
    service(d, "WAT")["indicators"][0]["answer"] = "percentage"


def _yes_no_bounds(d):
    ind = next(i for s in d["services"] for i in s["indicators"] if i["answer"] == "yes_no")
    ind["target"] = 100


def _target_below_floor(d):
    ind = next(i for i in service(d, "LGT")["indicators"] if i["direction"] == "higher")
    ind["floor"], ind["target"] = ind["target"], ind["floor"]


def _missing_core_service(d):
    d["services"] = [s for s in d["services"] if s["code"] != "PAS"]


def _age_groups_gap(d):
    d["age_groups"][1]["min"] += 2


def _flag_below_suppress(d):
    d["method"]["flag_below"] = 10


def _top_box_unknown(d):
    d["method"]["top_box"] = [4, 6]


def _missing_text(d):
    del d["texts"]["consent"]


def _unknown_top_key(d):
    d["servises"] = []


def _number_as_text(d):
    d["method"]["gap_threshold"] = "ten"


def _bad_applies_to(d):
    service(d, "SAN")["applies_to"] = "where sewerage"


def _enumerator_in_two_teams(d):
    teams = d["sample_plan"]["teams"]
    teams[1]["enumerators"].append(teams[0]["enumerators"][0])


def _unknown_language(d):
    service(d, "WAT")["name"]["uz"] = "Ichimlik suvi"


def _unit_bounds(d):
    ind = next(i for s in d["services"] for i in s["indicators"] if i["unit"] == "percent")
    ind["target"] = 120


def _trim_order(d):
    d["method"]["weight_trim"] = {"low": 3, "high": 0.3}


def _team_code_twice(d):
    teams = d["sample_plan"]["teams"]
    teams[1]["code"] = teams[0]["code"]


def _municipality_in_two_teams(d):
    teams = d["sample_plan"]["teams"]
    teams[1]["municipalities"].append(teams[0]["municipalities"][0])


def _duplicate_choice(d):
    scale = d["scales"]["satisfaction"]
    scale[1]["code"] = scale[0]["code"]


def _missing_scale(d):
    del d["scales"]["usage"]


MISTAKES = [
    (_missing_translation, "name.ky", "translation"),
    (_empty_translation, "usage.en", "translation"),
    (_duplicate_item_code, ".code", "duplicate"),
    (_duplicate_code_across_services, ".code", "duplicate"),
    (_duplicate_service, ".code", "twice"),
    (_unknown_service, ".code", "not a known service"),
    (_unknown_scale, ".scale", "not a scale"),
    (_floor_equals_target, ".target", "equals the floor"),
    (_unknown_direction, ".direction", "not one of"),
    (_negative_weight, ".weight", "at least"),
    (_unknown_unit, ".unit", "not a unit"),
    (_missing_prefix, ".code", "prefix"),
    (_bad_code, ".code", "not a valid code"),
    (_unknown_answer_type, ".answer", "not one of"),
    (_yes_no_bounds, ".answer", "yes/no"),
    (_target_below_floor, ".target", "below the floor"),
    (_missing_core_service, "services", "core services are missing"),
    (_age_groups_gap, "age_groups", "do not follow"),
    (_flag_below_suppress, "method.flag_below", "smaller than suppress_below"),
    (_top_box_unknown, "method.top_box", "not a code"),
    (_missing_text, "texts.consent", "missing"),
    (_unknown_top_key, "servises", "not a known key"),
    (_number_as_text, "method.gap_threshold", "not a number"),
    (_bad_applies_to, ".applies_to", "not a valid condition"),
    (_enumerator_in_two_teams, ".enumerators", "already in a team"),
    (_team_code_twice, "teams[2].code", "team code is already used"),
    (_municipality_in_two_teams, "teams[2].municipalities", "already assigned to team T1"),
    (_unknown_language, "name.uz", "not a language"),
    (_unit_bounds, ".target", "outside the range"),
    (_trim_order, "method.weight_trim", "smaller than high"),
    (_duplicate_choice, "satisfaction[2].code", "duplicate"),
    (_missing_scale, "scales.usage", "missing"),
]


@pytest.mark.parametrize(("change", "field", "words"), MISTAKES, ids=[m[0].__name__[1:] for m in MISTAKES])
def test_definition_mistake__is_reported_with_file_line_field_and_fix(
        definition_data, write_definition, change, field, words):
    data = copy.deepcopy(definition_data)
    change(data)
    path = write_definition(data)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    issues = [i for i in caught.value.issues if field in i.field and words in i.problem]
    assert issues, f"no issue on {field!r} with {words!r}; got:\n{caught.value}"
    issue = issues[0]
    assert issue.file == str(path)
    assert issue.fix
    assert issue.line is not None and issue.line >= 1
    # the message a person reads carries all of it
    message = str(caught.value)
    assert f"{path}:{issue.line}" in message and "Fix:" in message


def test_definition_mistake__line_points_at_the_bad_key(definition_data, write_definition):
    data = copy.deepcopy(definition_data)
    _floor_equals_target(data)
    path = write_definition(data)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    issue = next(i for i in caught.value.issues if i.field.endswith(".target"))
    line = path.read_text(encoding="utf-8").splitlines()[issue.line - 1]
    assert line.strip().startswith("target:")


def test_definition_mistakes__all_reported_in_one_run(definition_data, write_definition):
    data = copy.deepcopy(definition_data)
    for change in (_missing_translation, _unknown_direction, _unknown_unit, _missing_text):
        change(data)
    with pytest.raises(DefinitionError) as caught:
        load_definition(write_definition(data))
    fields = [issue.field for issue in caught.value.issues]
    assert len(caught.value.issues) >= 4, fields
    assert any(f.endswith("name.ky") for f in fields)
    assert any(f.endswith(".direction") for f in fields)
    assert any(f.endswith(".unit") for f in fields)
    assert "texts.consent" in fields


def test_malformed_yaml__names_the_line(tmp_path):
    text = BUNDLED_DEFINITION.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(text) if line.strip().startswith("gap_threshold"))
    text[index] = text[index].replace("gap_threshold:", "gap_threshold: [10")
    path = tmp_path / "indicators.yaml"
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    issue = caught.value.issues[0]
    assert issue.field == "yaml" and "malformed YAML" in issue.problem
    assert issue.line is not None and abs(issue.line - (index + 1)) <= 2


def test_copied_team__its_code_is_reported_as_used_twice(definition_data, write_definition):
    data = copy.deepcopy(definition_data)
    teams = data["sample_plan"]["teams"]
    teams.append(copy.deepcopy(teams[0]))  # a team block pasted twice
    with pytest.raises(DefinitionError) as caught:
        load_definition(write_definition(data))
    first = caught.value.issues[0]
    assert first.field == f"sample_plan.teams[{len(teams)}].code" and first.value == teams[0]["code"]
    assert "the team code is already used (line " in first.problem


UNCLOSED = {  # a definition with a quote left open, and the line of that quote
    "flow mapping": ('scales:\n  x:\n    - {code: "a", label: {ru: "A, en: "B"}}\n'
                     '    - {code: "c", label: {ru: "C", en: "D"}}\n', 3),
    "block mapping": ('name:\n  ru: "Вода\n  ky: "Суу"\n  en: "Water"\nother: 1\n', 2),
    "last value": ('name: 1\nother: "open\n', 2),
    "single quote": ("name:\n  ru: 'x\n  en: 'y'\nother: 1\n", 2),
}


@pytest.mark.parametrize("case", sorted(UNCLOSED))
def test_unclosed_quote__reported_at_its_own_line(tmp_path, case):
    text, line = UNCLOSED[case]
    path = tmp_path / "indicators.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    issue = caught.value.issues[0]
    assert issue.line == line, str(caught.value)
    assert "a quote opened on this line is never closed" in issue.problem
    assert issue.value == text.splitlines()[line - 1].strip()


def test_unclosed_quote_in_the_bundled_definition__reported_at_its_line_not_where_yaml_stumbled(
        tmp_path):
    lines = BUNDLED_DEFINITION.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("- {code:"))
    lines[index] = lines[index][: lines[index].rindex('"')]  # the last quote of the line goes
    path = tmp_path / "indicators.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    issue = caught.value.issues[0]
    assert issue.line == index + 1 and "never closed" in issue.problem, str(caught.value)


def test_duplicate_yaml_key__is_reported_not_silently_overwritten(tmp_path):
    text = BUNDLED_DEFINITION.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(text) if line.strip().startswith("quadrant_cut"))
    text.insert(index + 1, text[index])
    path = tmp_path / "indicators.yaml"
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert any("given twice" in i.problem and i.line == index + 2 for i in caught.value.issues)


def test_missing_definition_file__says_which_path(tmp_path):
    with pytest.raises(DefinitionError, match="does not exist"):
        load_definition(tmp_path / "nope.yaml")


def test_definition_with_mistakes__writes_nothing(definition_data, write_definition, tmp_path):
    data = copy.deepcopy(definition_data)
    _unknown_unit(data)
    out = tmp_path / "out"
    with pytest.raises(DefinitionError):
        build_forms(write_definition(data), BUNDLED_GEOGRAPHY, out, validate=False)
    assert not out.exists() or not any(out.iterdir())


def test_team_with_unknown_municipality__is_reported_against_the_geography(
        definition_data, write_definition):
    data = copy.deepcopy(definition_data)
    data["sample_plan"]["teams"][0]["municipalities"].append("ZZZ")
    with pytest.raises(DefinitionError) as caught:
        load_study(write_definition(data), BUNDLED_GEOGRAPHY)
    assert any(i.value == "ZZZ" and "not in" in i.problem for i in caught.value.issues)


def _edit_row(path: Path, edit) -> int:
    """Apply ``edit(cells, header)`` to the first data row; return that row's line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header_index = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    header = lines[header_index].split(",")
    row = header_index + 1
    import csv
    cells = next(csv.reader([lines[row]]))
    edit(cells, header)
    import io
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    lines[row] = buffer.getvalue()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return row + 1


def _set(column, value):
    def edit(cells, header):
        cells[header.index(column)] = value
    return edit


GEOGRAPHY_MISTAKES = [
    ("village_without_municipality", _set("municipality_code", ""), "municipality_code", "no municipality"),
    ("population_not_a_number", _set("pop_f_18_29", "12o"), "pop_f_18_29", "not a whole number"),
    ("population_negative", _set("pop_m_30_44", "-5"), "pop_m_30_44", "negative"),
    ("unknown_municipality_type", _set("municipality_type", "city"), "municipality_type", "not a municipality type"),
    ("missing_village_name", _set("village_ky", ""), "village_ky", "missing"),
    ("renamed_municipality", _set("municipality_en", "Akman-2"), "municipality_code", "described differently"),
    ("bad_code", _set("village_code", "AKM 01"), "village_code", "not a valid code"),
]


@pytest.mark.parametrize(("name", "edit", "field", "words"), GEOGRAPHY_MISTAKES,
                         ids=[m[0] for m in GEOGRAPHY_MISTAKES])
def test_geography_mistake__is_reported_with_row_and_field(study, geography_copy, name, edit, field, words):
    definition, _ = study
    from forms.geography import read_geography

    line = _edit_row(geography_copy, edit)
    geography, issues = read_geography(geography_copy, definition)
    assert geography is None
    matching = [i for i in issues if i.field == field and words in i.problem]
    assert matching, f"no {field!r}/{words!r} issue in {[str(i) for i in issues]}"
    if name != "renamed_municipality":  # that one is reported where the two rows disagree
        assert matching[0].line == line
    assert matching[0].fix


def test_geography_duplicate_village__names_both_rows(study, geography_copy):
    definition, _ = study
    from forms.geography import read_geography

    lines = geography_copy.read_text(encoding="utf-8").splitlines()
    lines.append(lines[-1])
    geography_copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, issues = read_geography(geography_copy, definition)
    assert any(i.field == "village_code" and "duplicate" in i.problem and i.line == len(lines)
               for i in issues)


def test_geography_missing_column__is_reported(study, geography_copy):
    definition, _ = study
    from forms.geography import read_geography

    text = geography_copy.read_text(encoding="utf-8").replace(",pop_m_60plus", ",pop_m_60")
    geography_copy.write_text(text, encoding="utf-8")
    _, issues = read_geography(geography_copy, definition)
    assert any(i.field == "header" and "pop_m_60plus" in i.value for i in issues if isinstance(i.value, list))


def test_geography_wrong_cell_count__is_reported(study, geography_copy):
    definition, _ = study
    from forms.geography import read_geography

    line = _edit_row(geography_copy, lambda cells, header: cells.append("extra"))
    _, issues = read_geography(geography_copy, definition)
    assert any(i.field == "row" and i.line == line for i in issues)
