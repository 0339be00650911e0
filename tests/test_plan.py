"""The fieldwork plan: every planned interview scheduled once, on working days within the window
(or the overflow reported), a rayon finished before the next, sessions while the team is there
and one at a time; the workbook's sheets, headers in each language and totals equal to the
sample plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter, defaultdict

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimak.errors import ConfigError
from forms.calendar import public_holidays
from forms.definition import Geography, Team, Village
from forms.sample_plan import VillageQuota
from forms.schedule import LSG_ASSESSMENT, SLOTS, pack_villages, schedule_fieldwork
from reports.plan import FILE_NAME, write_fieldwork_plan
from reports.plan_texts import PLAN
from reports.texts import COMMON

MONDAY = dt.date(2026, 11, 9)  # no public holiday in the two weeks from it


def per_village(schedule) -> Counter:
    done: Counter = Counter()
    for a in schedule.assignments:
        done[a.village] += a.interviews
    return done


def planned(schedule) -> Counter:
    return Counter({vq.village: vq.interviews for m in schedule.plan.municipalities.values()
                    for vq in m.villages if vq.interviews})


def with_teams(definition, *teams: Team, **study):
    plan = dataclasses.replace(definition.sample_plan, teams=teams)
    return dataclasses.replace(definition, sample_plan=plan,
                               study=dataclasses.replace(definition.study, **study))


def one_team_four_rayons(definition, geography):
    """One team given AKM and CHN (two oblasts), KSR, and a copy of AKM in AKM's rayon, in an
    order that jumps between oblasts and rayons."""
    akm = geography.municipalities["AKM"]
    twin = dataclasses.replace(akm, code="AKX", villages=tuple(
        Village(v.code.replace("AKM", "AKX"), v.name, "AKX", v.population) for v in akm.villages))
    geo = Geography(geography.oblasts, geography.rayons,
                    {**{c: m for c, m in geography.municipalities.items() if c != "KMD"},
                     "AKX": twin})
    team = Team("T1", "S01", ("E01", "E02", "E03", "E04", "E05", "E06"),
                ("AKM", "CHN", "KSR", "AKX"))
    return with_teams(definition, team), geo


# --- the schedule ----------------------------------------------------------------------------

def test_every_planned_interview_is_scheduled_exactly_once(study):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY)
    assert per_village(schedule) == planned(schedule)
    assert sum(a.interviews for a in schedule.assignments) == schedule.plan.interviews
    assert all(a.interviews > 0 for a in schedule.assignments)
    # one row per enumerator, village and day
    assert len({(a.day, a.enumerator, a.village) for a in schedule.assignments}) == len(schedule.assignments)


def test_the_bundled_plan_fits_ten_working_days_mondays_to_fridays(study):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY)
    assert schedule.fits and schedule.problems == ()
    assert len(schedule.window) == definition.sample_plan.fieldwork_days == 10
    assert schedule.window[0] == MONDAY and schedule.window[-1] == dt.date(2026, 11, 20)
    days = {a.day for a in schedule.assignments} | {s.day for s in schedule.sessions}
    assert all(d.weekday() < 5 and schedule.in_window(d) for d in days)


def test_public_holidays_and_given_days_off_are_not_worked_and_the_window_moves_past_them(study):
    definition, geography = study
    given = dt.date(2026, 12, 29)
    schedule = schedule_fieldwork(definition, geography, start=dt.date(2026, 12, 28),
                                  days_off=[given])
    holidays = public_holidays()
    worked = {a.day for a in schedule.assignments} | {s.day for s in schedule.sessions}
    assert not any(d in holidays or d == given or d.weekday() >= 5 for d in worked)
    # 28, 30, 31 December, then 1-7 January are the New Year days: 8 January is a Friday
    assert schedule.window[:4] == (dt.date(2026, 12, 28), dt.date(2026, 12, 30),
                                   dt.date(2026, 12, 31), dt.date(2027, 1, 8))
    assert len(schedule.window) == 10 and schedule.fits
    assert set(schedule.days_off) == {given, *(dt.date(2027, 1, d) for d in (1, 4, 5, 6, 7))}
    unguarded = schedule_fieldwork(definition, geography, start=dt.date(2026, 12, 28),
                                   public_holidays_off=False)
    assert dt.date(2027, 1, 4) in unguarded.window


def test_no_enumerator_is_given_more_than_the_daily_maximum(study):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY)
    load = Counter()
    for a in schedule.assignments:
        load[(a.day, a.enumerator)] += a.interviews
    for (day, enumerator), n in load.items():
        code = next(a.municipality for a in schedule.assignments
                    if a.day == day and a.enumerator == enumerator)
        assert n <= schedule.plan.municipalities[code].interviews_per_enumerator_day
    capped = schedule_fieldwork(definition, geography, start=MONDAY, max_per_day=15)
    load = Counter()
    for a in capped.assignments:
        load[(a.day, a.enumerator)] += a.interviews
    assert max(load.values()) == 15


def test_a_plan_that_does_not_fit_is_kept_whole_and_says_by_how_much(study):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY, max_per_day=15)
    assert per_village(schedule) == planned(schedule)  # nothing dropped
    assert not schedule.fits and {o.team for o in schedule.overflow} == {"T1", "T2"}
    last = schedule.window[-1]
    for o in schedule.overflow:
        late = [a for a in schedule.assignments if a.team == o.team and a.day > last]
        assert o.interviews == sum(a.interviews for a in late) > 0
        assert set(o.days) == {a.day for a in late} | {s.day for s in schedule.sessions
                                                      if s.team == o.team and s.day > last}
    # T1: AKM 542 and KSR 533 interviews at 15 a day for 5 enumerators take 8 days each
    t1 = next(o for o in schedule.overflow if o.team == "T1")
    assert len(t1.days) == 16 - 10
    problem = next(p for p in schedule.problems if p.startswith("team T1"))
    assert "6 working day(s) past the fieldwork window" in problem and "Fix:" in problem
    assert "\n" not in problem


def test_a_team_finishes_a_rayon_and_an_oblast_before_moving_on(study):
    definition, geography = one_team_four_rayons(*study)
    schedule = schedule_fieldwork(definition, geography, start=MONDAY)
    order = [stay.municipality for stay in schedule.stays]
    assert order == ["AKM", "AKX", "KSR", "CHN"]  # AKX is in AKM's rayon, CHN in another oblast
    rayons = [geography.municipalities[a.municipality].rayon
              for a in sorted(schedule.assignments, key=lambda a: a.day)]
    blocks = [r for i, r in enumerate(rayons) if i == 0 or rayons[i - 1] != r]
    assert len(blocks) == len(set(blocks))  # every rayon in one run of days
    days = [d for stay in schedule.stays for d in stay.days]
    assert days == sorted(days) and len(days) == len(set(days))  # one municipality a day


def test_sessions_are_held_while_the_team_is_there_and_never_two_at_once(study):
    definition, geography = study
    for schedule in (schedule_fieldwork(definition, geography, start=MONDAY),
                     schedule_fieldwork(*one_team_four_rayons(*study), start=MONDAY)):
        stays = {(s.team, s.municipality): set(s.days) for s in schedule.stays}
        for session in schedule.sessions:
            assert session.day in stays[(session.team, session.municipality)]
        by_person = defaultdict(list)
        for s in schedule.sessions:
            by_person[s.person].append((dt.datetime.combine(s.day, s.start),
                                        dt.datetime.combine(s.day, s.end)))
        for spans in by_person.values():
            spans.sort()
            assert all(end <= begin for (_, end), (begin, _) in zip(spans, spans[1:], strict=False))
        groups = Counter()
        for s in schedule.sessions:
            groups[(s.municipality, s.group_type or s.kind)] += 1
        for code in {s.municipality for s in schedule.stays}:
            assert groups[(code, LSG_ASSESSMENT)] == 1
            for group, count in definition.sample_plan.focus_groups.items():
                assert groups[(code, group)] == count  # 1 with LSG staff, 3 with residents
        assessments = [s for s in schedule.sessions if s.kind == LSG_ASSESSMENT]
        assert all(s.start == SLOTS["morning"][0] for s in assessments)


def test_a_one_day_municipality_is_given_a_second_day_for_its_five_sessions(study):
    definition, geography = study
    team = Team("T1", "S01", tuple(f"E{i:02d}" for i in range(1, 21)), ("AKM",))
    one_day = dataclasses.replace(with_teams(definition, team), sample_plan=dataclasses.replace(
        definition.sample_plan, teams=(team,), fieldwork_days=1))
    schedule = schedule_fieldwork(one_day, Geography(geography.oblasts, geography.rayons,
                                                     {"AKM": geography.municipalities["AKM"]}),
                                  start=MONDAY)
    stay, = schedule.stays
    assert {a.day for a in schedule.assignments} == {MONDAY}  # 20 enumerators finish in a day
    assert len(stay.days) == 2 and len(schedule.sessions) == 5  # 3 sessions a day at most
    overflow, = schedule.overflow
    assert overflow.interviews == 0 and overflow.sessions == 2 and overflow.days == stay.days[1:]


def test_one_supervisor_in_two_teams_is_never_in_two_sessions_at_once(study):
    definition, geography = study
    teams = (Team("T1", "S01", ("E01", "E02"), ("AKM", "KSR")),
             Team("T2", "S01", ("E03", "E04"), ("CHN", "KMD")))
    schedule = schedule_fieldwork(with_teams(definition, *teams), geography, start=MONDAY)
    slots = [(s.day, s.start) for s in schedule.sessions]
    assert len(slots) == len(set(slots)) == 20


def test_the_start_is_the_option_else_the_study_s_else_the_next_monday(study):
    definition, geography = study
    wednesday = dt.date(2026, 11, 4)
    assert schedule_fieldwork(definition, geography, today=wednesday).start == MONDAY
    assert schedule_fieldwork(definition, geography, today=MONDAY).start == dt.date(2026, 11, 16)
    dated = with_teams(definition, *definition.sample_plan.teams,
                       fieldwork_start="2026-11-10", fieldwork_end="2026-11-27")
    assert schedule_fieldwork(dated, geography, today=wednesday).start == dt.date(2026, 11, 10)
    assert schedule_fieldwork(dated, geography, start=dt.date(2026, 11, 12)).window[0] == dt.date(2026, 11, 12)


def test_the_window_stops_at_the_study_s_fieldwork_end(study):
    definition, geography = study
    dated = with_teams(definition, *definition.sample_plan.teams,
                       fieldwork_start="2026-11-09", fieldwork_end="2026-11-18")
    schedule = schedule_fieldwork(dated, geography)
    assert schedule.window[-1] == dt.date(2026, 11, 18) and len(schedule.window) == 8
    assert not schedule.fits and all(len(o.days) == 2 for o in schedule.overflow)


@pytest.mark.parametrize(("start", "end", "max_per_day", "says"), [
    (dt.date(2026, 11, 2), None, None, "is before study.fieldwork_start 2026-11-09"),
    (dt.date(2026, 11, 28), "2026-11-27", None, "no working day between the start 2026-11-28"),
    (None, None, 0, "must be 1 or more, not 0"),
])
def test_a_start_or_maximum_that_cannot_be_used_is_one_clear_error(study, start, end, max_per_day, says):
    definition, geography = study
    dated = with_teams(definition, *definition.sample_plan.teams, fieldwork_start="2026-11-09",
                       fieldwork_end=end)
    with pytest.raises(ConfigError) as caught:
        schedule_fieldwork(dated, geography, start=start, max_per_day=max_per_day)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def quotas(*sizes: int) -> list[VillageQuota]:
    return [VillageQuota(f"V{i}", n * 10, n, {}) for i, n in enumerate(sizes)]


def test_villages_get_whole_enumerator_days_when_the_days_allow():
    # 4 enumerators, 10 a day: 55 interviews need 2 days (8 enumerator-days); 6 would do
    slots = pack_villages(quotas(25, 18, 12), cap=10, enumerators=4)
    assert all(len(slot) == 1 for slot in slots)  # every enumerator-day in one village
    assert [slot[0] for slot in slots] == [("V0", 9), ("V0", 8), ("V0", 8), ("V1", 9), ("V1", 9),
                                           ("V2", 6), ("V2", 6)]


def test_a_tight_plan_shares_an_enumerator_day_between_two_villages_rather_than_add_a_day():
    # 40 interviews, 2 enumerators of 10 a day: 2 days exactly; whole days would need 3
    slots = pack_villages(quotas(15, 15, 10), cap=10, enumerators=2)
    assert len(slots) == 4
    assert [sum(n for _, n in slot) for slot in slots] == [10, 10, 10, 10]
    assert any(len(slot) == 2 for slot in slots)


@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=12),
       st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=8))
def test_packing_keeps_every_interview_within_the_cap_and_the_fewest_days(sizes, cap, enumerators):
    villages = quotas(*sizes)
    slots = pack_villages(villages, cap, enumerators)
    done = Counter()
    for slot in slots:
        assert 0 < sum(n for _, n in slot) <= cap
        for village, n in slot:
            done[village] += n
    assert done == Counter({v.village: v.interviews for v in villages if v.interviews})
    assert len(slots) <= math.ceil(sum(sizes) / (cap * enumerators)) * enumerators


# --- the workbook ----------------------------------------------------------------------------

def sheet_rows(sheet, header_row: int = 1) -> tuple[list, list[list]]:
    rows = [list(r) for r in sheet.iter_rows(min_row=header_row, values_only=True)]
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def books(study, tmp_path_factory):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY)
    out = tmp_path_factory.mktemp("plan")
    paths = {lang: write_fieldwork_plan(schedule, definition, geography, out / lang, lang)
             for lang in ("ru", "ky", "en")}
    return schedule, {lang: openpyxl.load_workbook(path) for lang, path in paths.items()}


@pytest.mark.parametrize("lang", ["ru", "ky", "en"])
def test_the_workbook_has_its_sheets_and_headers_in_the_chosen_language(books, study, lang):
    definition, _ = study
    _, opened = books
    book = opened[lang]
    keys = ("summary", "villages", "schedule", "team_days", "sessions", "sign_off")
    assert book.sheetnames == [PLAN[f"sheet.{k}"].get(lang) for k in keys]
    assert all(len(name) <= 31 for name in book.sheetnames)
    schedule_sheet = book[PLAN["sheet.schedule"].get(lang)]
    header, _ = sheet_rows(schedule_sheet)
    words = {**COMMON, **PLAN}
    assert header == [words[k].get(lang) for k in (
        "date", "weekday", "team", "enumerator", "rayon", "municipality", "village_code",
        "village", "interviews_planned", "in_window")]
    assert schedule_sheet.freeze_panes == "A2" and schedule_sheet.auto_filter.ref.startswith("A1:J")
    villages_header, _ = sheet_rows(book[PLAN["sheet.villages"].get(lang)])
    sex = definition.sexes[0].label.get(lang)
    age = definition.age_groups[0].label.get(lang)
    assert f"{sex}, {age}" in villages_header
    other = [lang_ for lang_ in ("ru", "ky", "en") if lang_ != lang]
    for name in other:  # no header left in another language (where the words differ)
        foreign = PLAN["interviews_planned"].get(name)
        assert foreign not in header


def test_the_workbook_totals_equal_the_sample_plan(books):
    schedule, opened = books
    book = opened["en"]
    plan = schedule.plan
    header, rows = sheet_rows(book["Villages and quotas"])
    data, total = rows[:-1], rows[-1]
    col = header.index("Interviews")
    first_quota, last_quota = col + 1, header.index("First day") - 1
    assert len(data) == sum(len(m.villages) for m in plan.municipalities.values())
    assert sum(r[col] for r in data) == plan.interviews == total[col]
    for r in data:
        assert sum(r[first_quota:last_quota + 1]) == r[col]
    assert total[first_quota:last_quota + 1] == [sum(r[j] for r in data)
                                                 for j in range(first_quota, last_quota + 1)]
    header, rows = sheet_rows(book["Interview schedule"])
    assert len(rows) - 1 == len(schedule.assignments)
    assert sum(r[8] for r in rows[:-1]) == plan.interviews == rows[-1][8]
    summary = book["Summary"]
    top = next(r for r in range(1, 30) if summary.cell(row=r, column=1).value == "Oblast")
    header, rows = sheet_rows(summary, top)
    by_code = {r[2]: r for r in rows[:-1]}
    col = header.index("Interviews")
    assert {c: r[col] for c, r in by_code.items()} == {c: m.interviews for c, m in plan.municipalities.items()}
    assert rows[-1][col] == plan.interviews
    assert all(r[-1] == "yes" for r in rows[:-1])
    header, rows = sheet_rows(book["Teams by day"])
    assert sum(r[header.index("Interviews planned")] for r in rows) == plan.interviews


def test_the_sessions_sheet_lists_each_assessment_and_focus_group_with_its_time(books, study):
    definition, geography = study
    schedule, opened = books
    header, rows = sheet_rows(opened["en"]["LSG assessment, focus groups"])
    assert len(rows) == len(schedule.sessions) == 4 * 5
    assert header[:4] == ["Date", "Weekday", "Start", "End"]
    kinds = Counter(r[header.index("Session")] for r in rows)
    assert kinds == {"LSG effectiveness assessment": 4, "Focus group": 16}
    assert {r[header.index("Group type")] for r in rows} >= {"LSG staff", "Residents: women"}
    first = rows[0]
    assert first[2] == dt.time(9, 30) and first[3] == dt.time(12, 30)
    assert isinstance(first[0], dt.datetime) and first[1] == "Monday"


def test_the_sign_off_sheet_has_blank_names_to_fill_and_no_cell_is_a_formula(books):
    _, opened = books
    sheet = opened["ru"]["Согласование"]
    cells = {c.value: c for row in sheet.iter_rows() for c in row if c.value}
    prepared, agreed = cells["Подготовил (исполнитель)"], cells["Согласовано (программа)"]
    for role in (prepared, agreed):
        assert all(sheet.cell(row=role.row, column=c).value is None for c in range(2, 6))
    assert sheet.cell(row=prepared.row - 1, column=2).value == "Ф. И. О."
    for book in opened.values():
        assert not [c.coordinate for ws in book for row in ws.iter_rows() for c in row
                    if c.data_type == "f"]


def test_rows_past_the_window_are_marked_and_the_warning_says_what_to_do(study, tmp_path):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY, max_per_day=15)
    path = write_fieldwork_plan(schedule, definition, geography, tmp_path, "en")
    book = openpyxl.load_workbook(path)
    header, rows = sheet_rows(book["Interview schedule"])
    late = [r for r in rows[:-1] if r[-1] == "no"]
    assert sum(r[8] for r in late) == sum(o.interviews for o in schedule.overflow)
    assert all(r[0].date() > schedule.window[-1] for r in late)
    summary = book["Summary"]
    lines = [summary.cell(row=r, column=1).value or "" for r in range(1, 10)]
    assert any(line.startswith("WARNING: the plan does not fit") for line in lines)
    assert any(line.startswith("Team T1 needs 6 more working day(s)") for line in lines)
    assert any(line.startswith("What to do:") for line in lines)
    assert book["Interview schedule"].conditional_formatting  # the highlight of those rows


def test_the_plan_never_replaces_a_workbook_someone_else_wrote_or_edited(study, tmp_path):
    definition, geography = study
    schedule = schedule_fieldwork(definition, geography, start=MONDAY)
    path = tmp_path / FILE_NAME
    theirs = openpyxl.Workbook()
    theirs.save(path)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="was not written by Aimak or was edited since"):
        write_fieldwork_plan(schedule, definition, geography, tmp_path, "en")
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]
    path.unlink()
    write_fieldwork_plan(schedule, definition, geography, tmp_path, "en")
    write_fieldwork_plan(schedule, definition, geography, tmp_path, "ru")  # ours: replaced
    assert openpyxl.load_workbook(path).sheetnames[0] == "Сводка"
    signed = openpyxl.load_workbook(path)
    signed["Согласование"]["B10"] = "Айгуль Осмонова"
    signed.properties.lastModifiedBy = "Aigul"
    signed.save(path)
    with pytest.raises(ConfigError):
        write_fieldwork_plan(schedule, definition, geography, tmp_path, "en")
    assert openpyxl.load_workbook(path)["Согласование"]["B10"].value == "Айгуль Осмонова"
