"""The fieldwork schedule: who fills what, when, and what happens to it afterwards.

Each team works through its municipalities over the study's working days (weekends off); the
interviews of a municipality are shared among its enumerators day by day (fast enumerators take
more), each with a start and end time on the phone. Sending follows the enumerator's habits: most
send right after finalising, late senders at night or the next morning. A few submissions are sent
twice (the phone never saw the server's answer), a few are edited a day or two later on the
supervisor's request, two are deleted by the supervisor, and supervisors set validation statuses.
The LSG assessment happens on the municipality's last day; focus groups are spread over its days.

Everything is a pure function of the world, the respondents, the start date and the seed.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fieldsim.personas import Respondent, World, fabricated
from forms.calendar import working_days
from forms.sample_plan import SamplePlan, largest_remainder

__all__ = ["APPROVED", "FOLLOW_UP_WEEKS", "NOT_APPROVED", "ON_HOLD", "TZ", "Visit", "default_start",
           "fieldwork_summary", "plan_fieldwork", "working_days"]

TZ = ZoneInfo("Asia/Bishkek")
APPROVED, NOT_APPROVED, ON_HOLD = ("validation_status_approved", "validation_status_not_approved",
                                   "validation_status_on_hold")
CITIZEN, LSG, FOCUS = "citizen_survey", "lsg_assessment", "focus_group"
FAST_SHARE = 1.6  # a fast enumerator's share of interviews relative to the others
FOLLOW_UP_WEEKS = 3  # a follow-up round's fieldwork starts this many weeks after the baseline's


@dataclass
class Visit:
    """One finalised instance and its fate."""

    key: str
    form: str  # citizen_survey | lsg_assessment | focus_group
    municipality: str
    enumerator: str  # enumerator code (citizen), supervisor code (LSG, focus groups)
    start: dt.datetime
    end: dt.datetime
    sent: dt.datetime
    instance_id: str
    respondent: Respondent | None = None
    group_type: str | None = None
    late: bool = False
    resend_at: dt.datetime | None = None
    edit_at: dt.datetime | None = None
    edit_instance_id: str | None = None
    deleted: bool = False
    validation: str | None = None

    @property
    def final_instance_id(self) -> str:
        return self.edit_instance_id or self.instance_id


def default_start(today: dt.date | None = None, *, follow_up: bool = False) -> dt.date:
    """The Monday a round's fieldwork starts on by default. Every date must stay before today
    (date questions must be ≤ today), so a follow-up round's two weeks end before today, and a
    baseline starts FOLLOW_UP_WEEKS earlier: a follow-up simulated after it comes later in time."""
    today = today or dt.date.today()
    day = today - dt.timedelta(days=21)
    monday = day - dt.timedelta(days=day.weekday())
    return monday if follow_up else monday - dt.timedelta(weeks=FOLLOW_UP_WEEKS)


def _uuid(rng: random.Random) -> str:
    return f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def _at(day: dt.date, minutes: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), TZ) + dt.timedelta(minutes=minutes)


def _municipality_days(world: World, plan: SamplePlan, days: list[dt.date]) -> dict[str, list[dt.date]]:
    out: dict[str, list[dt.date]] = {}
    for team in world.definition.sample_plan.teams:
        codes = [m for m in team.municipalities if m in plan.municipalities]
        shares = largest_remainder(len(days), [plan.municipalities[m].fieldwork_days for m in codes])
        first = 0
        for code, share in zip(codes, shares, strict=True):
            out[code] = days[first:first + max(1, share)] or days[-1:]
            first += share
    return out


def plan_fieldwork(world: World, plan: SamplePlan, respondents: list[Respondent], *,
                   start: dt.date, edit_rate: float = 0.015, deletions: int = 2) -> list[Visit]:
    """Every visit of the round, in no particular order (sort by ``sent`` to replay sending)."""
    rng = random.Random(f"fieldwork:{world.draws}")
    days = working_days(start, world.definition.sample_plan.fieldwork_days)
    by_municipality = _municipality_days(world, plan, days)
    teams = {m: t for t in world.definition.sample_plan.teams for m in t.municipalities}
    visits: list[Visit] = []
    for code, mdays in by_municipality.items():
        team = teams[code]
        people = sorted((r for r in respondents if r.municipality == code),
                        key=lambda r: (r.village, r.number))
        slots = [(d, e) for d in mdays for e in team.enumerators]
        weights = [FAST_SHARE if world.enumerators[e].speed < 0.6 else 1.0 for _, e in slots]
        counts = largest_remainder(len(people), weights)
        queue = iter(people)
        for (day, code_e), count in zip(slots, counts, strict=True):
            enumerator = world.enumerators[code_e]
            clock = 9 * 60 + rng.uniform(0, 45)
            for _ in range(count):
                respondent = next(queue)
                length = max(5.0, rng.gauss(27, 5) * enumerator.speed)
                if not respondent.consent:
                    length = rng.uniform(1, 3)
                elif fabricated(world, respondent, enumerator):  # filled in at home, in minutes
                    length = random.Random(f"made-up:{world.seed}:{respondent.number}").uniform(0.8, 2)
                begin, end = _at(day, clock), _at(day, clock + length)
                late = rng.random() < enumerator.late_sender
                if late:
                    sent = (_at(day, rng.uniform(19.5 * 60, 23 * 60)) if rng.random() < 0.6
                            else _at(day + dt.timedelta(days=1), rng.uniform(7.5 * 60, 8.5 * 60)))
                else:
                    sent = end + dt.timedelta(minutes=rng.uniform(0.2, 8))
                visits.append(Visit(f"c{respondent.number:06d}", CITIZEN, code, code_e, begin, end,
                                    sent, "", respondent=respondent, late=late))
                clock += length + rng.uniform(5, 25)
        visits += _lsg_and_groups(world, code, mdays, team.supervisor, rng)
    _fates(world, visits, rng, edit_rate, deletions)
    # instance ids depend on the run's size and dates too: a run with other content never reuses an
    # id (the server would answer 409), while the very same run replayed gives duplicates (202)
    ids = random.Random(f"ids:{world.draws}:{len(respondents)}:{start.isoformat()}")
    for v in visits:
        v.instance_id = _uuid(ids)
        if v.edit_at:
            v.edit_instance_id = _uuid(ids)
    return visits


def _lsg_and_groups(world: World, code: str, mdays: list[dt.date], supervisor: str,
                    rng: random.Random) -> list[Visit]:
    out = []
    last = mdays[-1]
    begin = _at(last, rng.uniform(10 * 60, 11 * 60))
    end = begin + dt.timedelta(minutes=rng.uniform(90, 180))
    out.append(Visit(f"lsg-{code}", LSG, code, supervisor, begin, end,
                     end + dt.timedelta(minutes=rng.uniform(1, 30)), ""))
    sessions = [g for g, n in world.definition.sample_plan.focus_groups.items() for _ in range(n)]
    for i, group in enumerate(sessions):
        day = mdays[min(len(mdays) - 1, i * len(mdays) // max(1, len(sessions)))]
        begin = _at(day, (10 if group == "lsg_staff" else 15) * 60 + rng.uniform(0, 30))
        end = begin + dt.timedelta(minutes=rng.uniform(75, 115))
        # the note-taker types the record up in the evening
        sent = _at(day, rng.uniform(19 * 60, 21 * 60))
        out.append(Visit(f"fg-{code}-{group}-{i + 1}", FOCUS, code, supervisor, begin, end, sent,
                         "", group_type=group, late=True))
    return out


def _fates(world: World, visits: list[Visit], rng: random.Random, edit_rate: float,
           deletions: int) -> None:
    citizens = [v for v in visits if v.form == CITIZEN]
    if not citizens:
        return
    last_day = max(v.start.date() for v in citizens)
    for v in citizens:
        if rng.random() < world.enumerators[v.enumerator].resend:
            v.resend_at = v.sent + dt.timedelta(minutes=rng.uniform(2, 90))
    consented = [v for v in citizens if v.respondent and v.respondent.consent]
    wanted_edits = max(2, math.ceil(edit_rate * len(citizens)))
    for v in rng.sample(consented, min(wanted_edits, len(consented))):
        v.edit_at = v.sent + dt.timedelta(days=rng.uniform(1, 2))
    if not any(v.resend_at for v in citizens):
        for v in rng.sample(citizens, min(2, len(citizens))):
            v.resend_at = v.sent + dt.timedelta(minutes=rng.uniform(2, 90))
    plain = [v for v in citizens if not v.edit_at and not v.resend_at]
    for v in rng.sample(plain, min(deletions, len(plain))):
        v.deleted = True
    for v in visits:
        if v.deleted:
            continue
        if v.form != CITIZEN:
            v.validation = APPROVED
            continue
        if v.start.date() == last_day and rng.random() < 0.7:
            continue  # not reviewed yet
        enumerator = world.enumerators[v.enumerator]
        minutes = (v.end - v.start).total_seconds() / 60
        if enumerator.straight_liner and rng.random() < 0.3:
            v.validation = NOT_APPROVED
        elif minutes < 12 and v.respondent and v.respondent.consent:
            v.validation = ON_HOLD
        else:
            v.validation = APPROVED if rng.random() < 0.9 else None


def fieldwork_summary(visits: list[Visit]) -> dict[str, object]:
    """Counts and the ids a scorer or a reconciliation test needs."""
    by_form: dict[str, int] = {}
    for v in visits:
        by_form[v.form] = by_form.get(v.form, 0) + 1
    statuses: dict[str, int] = {}
    for v in visits:
        if v.validation:
            statuses[v.validation] = statuses.get(v.validation, 0) + 1
    return {
        "first_day": min(v.start for v in visits).date().isoformat(),
        "last_day": max(v.start for v in visits).date().isoformat(),
        "instances": by_form,
        "late": sum(v.late for v in visits),
        "resent": [v.instance_id for v in visits if v.resend_at],
        "edited": {v.instance_id: v.edit_instance_id for v in visits if v.edit_at},
        "deleted": [v.instance_id for v in visits if v.deleted],
        "validation_statuses": statuses,
        "refusals": sum(1 for v in visits if v.respondent and not v.respondent.consent),
    }

