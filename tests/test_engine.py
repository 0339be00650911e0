"""The JavaRosa form-filling engine (fieldsim/engine.py) on small pyxform-built forms."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pyxform.xls2xform import convert

from aimak.errors import AimakError, SimulationError
from fieldsim import engine as engine_mod
from fieldsim.answerable import answerable_questions, answered_paths, answered_share
from fieldsim.engine import FillRejected, FillRequest, FormEngine, UnknownAnswers

pytestmark = [
    pytest.mark.java,
    pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17 (java, javac)"),
]

SURVEY_MD = """
| survey |
| | type | name | label::English (en) | label::Русский (ru) | relevant | constraint | constraint_message::English (en) | constraint_message::Русский (ru) | choice_filter | required | appearance | calculation |
| | start | start | | | | | | | | | | |
| | end | end | | | | | | | | | | |
| | today | today | | | | | | | | | | |
| | deviceid | deviceid | | | | | | | | | | |
| | username | username | | | | | | | | | | |
| | select_one yn | consent | Consent? | Согласие? | | | | | | yes | | |
| | begin_group | main | Main | Главное | ${consent} = 'yes' | | | | | | field-list | |
| | select_one region | region | Region | Регион | | | | | | yes | | |
| | select_one district | district | District | Район | | | | | region = ${region} | yes | | |
| | calculate | region_name | | | | | | | | | | jr:choice-name(${region}, '${region}') |
| | integer | age | Age | Возраст | | . >= 18 and . <= 99 | Age must be 18-99 | Возраст 18-99 | | yes | | |
| | select_multiple svc | services | Services | Услуги | | count-selected(.) <= 3 | At most 3 services | Не более 3 | | | | |
| | select_one yn | uses_water | Uses water? | Вода? | | | | | | | | |
| | integer | water_rating | Rate water | Оценка | ${uses_water} = 'yes' | . >= 1 and . <= 5 | Rating 1 to 5 | от 1 до 5 | | | | |
| | text | water_comment | Comment | Комментарий | ${uses_water} = 'yes' | | | | | | | |
| | note | hello | Thanks | Спасибо | | | | | | | | |
| | geopoint | loc | Location | Место | | | | | | | | |
| | image | photo | Photo | Фото | | | | | | | | |
| | date | visit | Visit | Визит | | | | | | | | |
| | rank svc | ranking | Rank | Ранг | | | | | | | | |
| | end_group | | | | | | | | | | | |
| | begin_repeat | members | Members | Члены | ${consent} = 'yes' | | | | | | | |
| | text | member_name | Name | Имя | | | | | | | | |
| | begin_repeat | kids | Kids | Дети | | | | | | | | |
| | integer | kid_age | Kid age | Возраст | | . < 18 | Under 18 | до 18 | | | | |
| | end_repeat | | | | | | | | | | | |
| | end_repeat | | | | | | | | | | | |

| choices |
| | list_name | name | label::English (en) | label::Русский (ru) | region |
| | yn | yes | Yes | Да | |
| | yn | no | No | Нет | |
| | region | chui | Chui | Чуй | |
| | region | osh | Osh | Ош | |
| | district | d1 | Alamudun | Аламудун | chui |
| | district | d2 | Sokuluk | Сокулук | chui |
| | district | d3 | Kara-Suu | Кара-Суу | osh |
| | svc | a | A | А | |
| | svc | b | B | Б | |
| | svc | c | C | В | |
| | svc | d | D | Г | |

| settings |
| | form_id | version | default_language |
| | engine_test | 1 | English (en) |
"""

GOOD = {
    "consent": "yes",
    "region": "chui",
    "district": "d2",
    "age": 34,
    "services": ["a", "c"],
    "uses_water": "yes",
    "water_rating": "4",
    "water_comment": "fine & <clean>",
    "loc": "42.87 74.59 800 5",
    "photo": "1712345678901.jpg",
    "visit": "2025-05-01",
    "ranking": "b a d c",
}


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forms") / "engine_test.xml"
    path.write_text(convert(SURVEY_MD, file_type=".md", form_name="data").xform, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def engine() -> FormEngine:
    with FormEngine() as eng:
        yield eng


def parse(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)


def texts(root: ET.Element, path: str) -> list[str]:
    return [(el.text or "") for el in root.findall(path)]


def test_fill_everything_as_collect_would(engine: FormEngine, survey: Path) -> None:
    answers = {
        **GOOD,
        "member_name": ["Ann", "Bob", "Cid"],
        "kid_age": [["3", "5"], [], ["7"]],
    }
    filled = engine.fill(
        survey,
        answers,
        start="2025-05-01T10:00:00",
        end="2025-05-01T10:25:00",
        deviceid="collect:abc123",
        properties={"username": "enum07"},
    )
    root = parse(filled.xml)
    assert root.tag == "data" and root.get("id") == "engine_test"
    assert root.findtext("consent") == "yes"
    assert root.findtext("main/region") == "chui"
    assert root.findtext("main/district") == "d2"
    assert root.findtext("main/region_name") == "Chui"
    assert root.findtext("main/age") == "34"
    assert root.findtext("main/services") == "a c"
    assert root.findtext("main/water_rating") == "4"
    assert root.findtext("main/water_comment") == "fine & <clean>"
    assert root.find("main/hello") is not None and not root.findtext("main/hello")
    lat, lon, alt, acc = (float(x) for x in root.findtext("main/loc").split())
    assert (lat, lon, alt, acc) == (42.87, 74.59, 800.0, 5.0)
    assert root.findtext("main/photo") == "1712345678901.jpg"
    assert root.findtext("main/visit") == "2025-05-01"
    assert root.findtext("main/ranking") == "b a d c"
    members = root.findall("members")
    assert [m.findtext("member_name") for m in members] == ["Ann", "Bob", "Cid"]
    assert [texts(m, "kids/kid_age") for m in members] == [["3", "5"], [], ["7"]]
    # time and identity as Collect writes them (Asia/Bishkek, +06:00)
    assert root.findtext("start") == "2025-05-01T10:00:00.000+06:00"
    assert root.findtext("end") == "2025-05-01T10:25:00.000+06:00"
    assert root.findtext("today") == "2025-05-01"
    assert root.findtext("deviceid") == "collect:abc123"
    assert root.findtext("username") == "enum07"
    assert filled.instance_id.startswith("uuid:")
    assert root.findtext("meta/instanceID") == filled.instance_id
    assert filled.errors == ()


def test_relevance_skip_and_repeat_counts(engine: FormEngine, survey: Path) -> None:
    answers = {**GOOD, "uses_water": "no", "water_rating": None}
    answers.pop("water_comment")
    # 'no' to the usage question: the dependent questions are not in the XML at all
    root = parse(engine.fill(survey, answers, repeats={"members": 0}).xml)
    assert root.findtext("main/uses_water") == "no"
    assert root.find("main/water_rating") is None
    assert root.find("main/water_comment") is None
    # 0 instances: pyxform's pre-emitted instance is removed
    assert root.findall("members") == []
    # 1 instance from a plain value, nested repeat with 0 instances
    root = parse(engine.fill(survey, {**answers, "member_name": "Solo"}).xml)
    assert [m.findtext("member_name") for m in root.findall("members")] == ["Solo"]
    assert root.findall("members/kids") == []
    # 3 instances given by count, answers by name[k] and by full path
    root = parse(
        engine.fill(
            survey,
            {**answers, "member_name[2]": "Second", "/data/members[3]/kids[2]/kid_age": "9"},
            repeats={"members": 3, "kids": [0, 0, 2]},
        ).xml
    )
    members = root.findall("members")
    assert [m.findtext("member_name") for m in members] == ["", "Second", ""]
    assert [texts(m, "kids/kid_age") for m in members] == [[], [], ["", "9"]]


def test_language_follows_the_ui(engine: FormEngine, survey: Path) -> None:
    root = parse(engine.fill(survey, GOOD, lang="ru").xml)
    assert root.findtext("main/region_name") == "Чуй"
    root = parse(engine.fill(survey, GOOD).xml)
    assert root.findtext("main/region_name") == "Chui"
    with pytest.raises(SimulationError, match="Русский"):
        engine.fill(survey, GOOD, lang="fr")


def test_constraint_violation_names_question_and_message(engine: FormEngine, survey: Path) -> None:
    with pytest.raises(SimulationError) as info:
        engine.fill(survey, {**GOOD, "age": 130})
    text = str(info.value)
    assert "engine_test.xml" in text and "'age'" in text and "130" in text
    assert "Age must be 18-99" in text
    err = info.value.errors[0]
    assert (err.kind, err.question, err.path) == ("constraint", "age", "/data/main/age")
    # the message is the localised one
    with pytest.raises(FillRejected, match="от 1 до 5"):
        engine.fill(survey, {**GOOD, "water_rating": 9}, lang="ru")
    with pytest.raises(FillRejected, match="At most 3 services"):
        engine.fill(survey, {**GOOD, "services": "a b c d"})


def test_choice_outside_filtered_choices(engine: FormEngine, survey: Path) -> None:
    with pytest.raises(FillRejected) as info:
        engine.fill(survey, {**GOOD, "district": "d3"})  # d3 belongs to Osh, region is Chui
    err = info.value.errors[0]
    assert err.kind == "bad_value" and err.question == "district"
    assert err.allowed == ("d1", "d2")
    assert "d1, d2" in str(info.value)


def test_answer_keys_naming_no_question_are_reported_not_dropped(
    engine: FormEngine, survey: Path
) -> None:
    # a renamed question: the old name (plain, name[k] and full path forms) matches nothing
    answers = {
        **GOOD,
        "age_years": 34,
        "member_nam[2]": "Bob",
        "/data/members[1]/kids[1]/kid_years": "3",
    }
    with pytest.raises(UnknownAnswers) as info:
        engine.fill(survey, answers, collect_errors=True)  # not a refused answer: always raised
    assert info.value.keys == ("/data/members[1]/kids[1]/kid_years", "age_years", "member_nam[2]")
    text = str(info.value)
    assert "engine_test.xml" in text and "'age_years'" in text and "'member_nam[2]'" in text
    assert isinstance(info.value, SimulationError)
    with pytest.raises(UnknownAnswers, match="'typo'"):
        list(engine.fill_many([FillRequest(survey, GOOD), FillRequest(survey, {**GOOD, "typo": 1})]))
    assert engine.fill(survey, GOOD).errors == ()  # the engine stays usable


def test_answers_for_existing_but_irrelevant_questions_stay_unused(
    engine: FormEngine, survey: Path
) -> None:
    # water_rating exists but is not relevant after 'no'; kid_age exists inside a nested repeat
    answers = {**GOOD, "uses_water": "no", "water_rating": "4", "water_comment": "x",
               "member_name[1]": "Ann", "/data/members[1]/kids[1]/kid_age": "3"}
    root = parse(engine.fill(survey, answers, repeats={"members": 1, "kids": [1]}).xml)
    assert root.find("main/water_rating") is None
    assert texts(root, "members/kids/kid_age") == ["3"]
    # a gated-off block: every key names a question, none is used, nothing is refused
    assert engine.fill(survey, {**GOOD, "consent": "no"}).errors == ()


def test_bad_values_and_required_collected(engine: FormEngine, survey: Path) -> None:
    answers = {**GOOD, "age": "thirty", "visit": "01/05/2025", "loc": "north"}
    answers.pop("region")
    filled = engine.fill(survey, answers, collect_errors=True)
    kinds = {(e.question, e.kind) for e in filled.errors}
    assert ("age", "bad_value") in kinds and ("visit", "bad_value") in kinds
    assert ("loc", "bad_value") in kinds and ("region", "required") in kinds
    assert parse(filled.xml).findtext("main/age") == ""


def test_auto_mode_is_deterministic_and_complete(engine: FormEngine, survey: Path) -> None:
    def answers(seed: int) -> list[tuple[str, str]]:
        root = parse(engine.fill(survey, {"consent": "yes"}, auto=True, seed=seed).xml)
        skip = {"instanceID", "start", "end", "today", "username"}  # username: no property given
        out = []
        for el in root.iter():
            if len(el) == 0 and el.tag not in skip:
                out.append((el.tag, el.text or ""))
        return out

    first, again, other = answers(11), answers(11), answers(12)
    assert first == again
    assert first != other
    # every relevant question got a value (notes stay empty)
    empty = [tag for tag, text in first if not text and tag != "hello"]
    assert empty == []
    got = dict(first)
    assert got["district"] in ({"d1", "d2"} if got["region"] == "chui" else {"d3"})
    assert 18 <= int(got["age"]) <= 99
    assert 1 <= len(got["services"].split()) <= 3


def test_auto_mode_covers_the_form(engine: FormEngine, survey: Path) -> None:
    xmls = [
        f.xml
        for f in engine.fill_many(
            FillRequest(survey, {"consent": "yes"}, auto=True, seed=s) for s in range(40)
        )
    ]
    questions = answerable_questions(survey)
    assert "/data/main/hello" not in {q.path for q in questions}  # notes are not answerable
    assert "/data/main/region_name" not in {q.path for q in questions}
    assert answered_share(survey, xmls) == 1.0
    assert "/data/members/kids/kid_age" in answered_paths(xmls[0]) or any(
        "/data/members/kids/kid_age" in answered_paths(x) for x in xmls
    )


def test_consent_gate_leaves_only_metadata(engine: FormEngine, survey: Path) -> None:
    root = parse(engine.fill(survey, {"consent": "no", "age": 50}, auto=False).xml)
    assert [el.tag for el in root] == [
        "start",
        "end",
        "today",
        "deviceid",
        "username",
        "consent",
        "meta",
    ]
    # auto mode does not answer past the gate either
    root = parse(engine.fill(survey, {"consent": "no"}, auto=True, seed=3).xml)
    assert root.find("main") is None and root.findall("members") == []


def test_edit_sets_deprecated_id(engine: FormEngine, survey: Path) -> None:
    original = engine.fill(survey, GOOD)
    edited = engine.fill(survey, {**GOOD, "age": 35}, deprecated_id=original.instance_id)
    root = parse(edited.xml)
    assert root.findtext("meta/deprecatedID") == original.instance_id
    assert edited.instance_id.startswith("uuid:") and edited.instance_id != original.instance_id
    assert root.findtext("meta/instanceID") == edited.instance_id
    forced = engine.fill(survey, GOOD, instance_id="uuid:fixed-1")
    assert forced.instance_id == "uuid:fixed-1"
    assert parse(forced.xml).find("meta/deprecatedID") is None


def test_fill_many_throughput_smoke(engine: FormEngine, survey: Path) -> None:
    requests = (
        FillRequest(survey, {"consent": "yes"}, auto=True, seed=i, start="2025-06-01T09:00:00")
        for i in range(200)
    )
    results = list(engine.fill_many(requests))
    assert len(results) == 200
    assert len({r.instance_id for r in results}) == 200
    assert all(parse(r.xml).findtext("start").endswith("+06:00") for r in results)
    # an error in the middle of a stream raises; the engine stays usable afterwards
    bad = [
        FillRequest(survey, GOOD),
        FillRequest(survey, {**GOOD, "age": 5}),
        FillRequest(survey, GOOD),
    ]
    with pytest.raises(FillRejected):
        list(engine.fill_many(bad))
    assert engine.fill(survey, GOOD).errors == ()


def test_crashed_jvm_is_reported_then_restarted(survey: Path) -> None:
    with FormEngine(timeout=20) as eng:
        eng.fill(survey, GOOD)
        eng._proc.kill()  # simulate a crash
        with pytest.raises(SimulationError, match="JavaRosa process"):
            eng.fill(survey, GOOD)
        assert eng.fill(survey, GOOD).errors == ()  # a new JVM


def test_missing_javac_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(engine_mod.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(SimulationError, match="openjdk-17-jdk-headless") as info:
        engine_mod.compile_filler(tmp_path)
    assert isinstance(info.value, AimakError)


def test_external_choices_and_defaults(engine: FormEngine, tmp_path: Path) -> None:
    md = """
| survey |
| | type | name | label | default | constraint |
| | select_one_from_file things.csv | thing | Thing | | |
| | integer | d | D | 7 | . < 5 |
| | integer | kept | K | 3 | . < 5 |
"""
    form = tmp_path / "ext.xml"
    form.write_text(convert(md, file_type=".md", form_name="data").xform, encoding="utf-8")
    (tmp_path / "ext-media").mkdir()  # Collect's layout: <form>-media/ next to the form
    (tmp_path / "ext-media" / "things.csv").write_text("name,label\nhammer,Hammer\nsaw,Saw\n")
    filled = engine.fill(form, {"thing": "saw", "d": 2})
    assert parse(filled.xml).findtext("thing") == "saw"
    with pytest.raises(FillRejected, match="hammer, saw"):
        engine.fill(form, {"thing": "drill", "d": 2})
    # a default that breaks its constraint is caught at finalisation, as in Collect
    with pytest.raises(FillRejected, match="'d'"):
        engine.fill(form, {"thing": "saw"})
    # auto mode keeps a valid default and replaces an invalid one
    root = parse(engine.fill(form, {}, auto=True, seed=4).xml)
    assert root.findtext("kept") == "3" and int(root.findtext("d")) < 5
    assert root.findtext("thing") in {"hammer", "saw"}


def test_start_geopoint_near_the_given_point(engine: FormEngine, tmp_path: Path) -> None:
    md = """
| survey |
| | type | name | label |
| | start-geopoint | sg | |
| | text | x | X |
"""
    form = tmp_path / "sg.xml"
    form.write_text(convert(md, file_type=".md", form_name="data").xform, encoding="utf-8")
    one = engine.fill(form, {"x": "a"}, seed=1, geopoint=(40.5, 72.8))
    lat, lon, _alt, _acc = (float(v) for v in parse(one.xml).findtext("sg").split())
    assert abs(lat - 40.5) < 0.1 and abs(lon - 72.8) < 0.1
    two = engine.fill(form, {"x": "a"}, seed=1, geopoint=(40.5, 72.8))
    assert parse(two.xml).findtext("sg") == parse(one.xml).findtext("sg")


def test_unknown_form_is_reported(engine: FormEngine, tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="not found"):
        engine.fill(tmp_path / "missing.xml", {})


@pytest.mark.parametrize("extra", ["", "| | calculate | stamp | | | now() |"])
def test_final_check_catches_a_constraint_a_later_answer_breaks(
    engine: FormEngine, tmp_path: Path, extra: str
) -> None:
    """Collect's FormDef.validate at finalisation; without volatile functions (now()) the filler
    checks the same questions without re-committing their answers, with them it re-commits."""
    md = f"""
| survey |
| | type | name | label | constraint | calculation |
| | integer | a | A | ${{b}} = '' or . < ${{b}} | |
| | integer | b | B | | |
{extra}
"""
    form = tmp_path / f"later{len(extra)}.xml"
    form.write_text(convert(md, file_type=".md", form_name="data").xform, encoding="utf-8")
    root = parse(engine.fill(form, {"a": 1, "b": 5}).xml)
    assert (root.findtext("a"), root.findtext("b")) == ("1", "5")
    filled = engine.fill(form, {"a": 5, "b": 1}, collect_errors=True)
    assert [(e.kind, e.question) for e in filled.errors] == [("constraint", "a")]


def test_class_archive_kept_after_real_work_and_a_broken_one_is_ignored(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched: list[list[str]] = []  # the command line of each JVM the engine starts
    popen = engine_mod.subprocess.Popen

    def recording_popen(cmd, *args, **kwargs):
        launched.append([str(part) for part in cmd])
        return popen(cmd, *args, **kwargs)

    monkeypatch.setattr(engine_mod.subprocess, "Popen", recording_popen)

    classes = engine_mod.compile_filler(tmp_path)
    assert (classes / engine_mod.FILLER_JAR).is_file()
    with FormEngine(cache_dir=tmp_path) as eng:  # too little work: no archive kept
        eng.fill(survey, GOOD)
    assert not list(classes.glob("*.jsa")) and not list(classes.glob(".filler-*"))
    with FormEngine(cache_dir=tmp_path) as eng:
        requests = [FillRequest(survey, GOOD)] * engine_mod.ARCHIVE_AFTER_FILLS
        assert len(list(eng.fill_many(requests))) == engine_mod.ARCHIVE_AFTER_FILLS
    [archive] = classes.glob("filler-*.jsa")
    assert all(not any(a.startswith("-XX:SharedArchiveFile=") for a in cmd) for cmd in launched)
    assert any(a.startswith("-XX:ArchiveClassesAtExit=") for a in launched[-1])
    with FormEngine(cache_dir=tmp_path) as eng:  # started with the archive
        assert eng.fill(survey, GOOD).errors == ()
    assert f"-XX:SharedArchiveFile={archive}" in launched[-1]
    assert not any(a.startswith("-XX:ArchiveClassesAtExit=") for a in launched[-1])
    archive.chmod(0o644)
    archive.write_bytes(b"not an archive")
    with FormEngine(cache_dir=tmp_path) as eng:  # the JVM ignores it (its warning goes to stderr)
        assert eng.fill(survey, GOOD).errors == ()


def test_value_changed_actions_still_fire(engine: FormEngine, tmp_path: Path) -> None:
    """A form with setvalue on xforms-value-changed (pyxform's trigger column) is answered through
    FormEntryController.answerQuestion itself, so its actions run as in Collect."""
    md = """
| survey |
| | type | name | label | trigger | calculation |
| | integer | a | A | | |
| | text | b | B | ${a} | concat('a was ', ${a}) |
"""
    form = tmp_path / "trigger.xml"
    form.write_text(convert(md, file_type=".md", form_name="data").xform, encoding="utf-8")
    assert "xforms-value-changed" in form.read_text(encoding="utf-8")
    assert parse(engine.fill(form, {"a": 3}).xml).findtext("b") == "a was 3"


def test_two_filling_threads_give_the_same_instances_in_order(survey: Path) -> None:
    def requests(lanes: bool) -> list[FillRequest]:
        return [FillRequest(survey, {"consent": "yes"}, auto=True, seed=i,
                            start="2025-06-01T09:00:00", end="2025-06-01T09:30:00",
                            tz="Asia/Bishkek" if i % 3 else "Europe/Moscow",
                            instance_id=f"uuid:00000000-0000-4000-8000-{i:012d}",
                            lang="ru" if i % 2 else "en", lane=i % 2 if lanes else None)
                for i in range(60)]

    with FormEngine() as one:
        expected = [r.xml for r in one.fill_many(requests(False))]
    for lanes in (False, True):
        with FormEngine(threads=2) as two:
            got = [r.xml for r in two.fill_many(requests(lanes))]
            assert got == expected
            assert two.fill(survey, GOOD).errors == ()  # lockstep still answers
    starts = {parse(x).findtext("start")[-6:] for x in expected}
    assert starts == {"+06:00", "+03:00"}  # each fill in its own time zone
