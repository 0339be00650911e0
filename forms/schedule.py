"""The fieldwork schedule agreed with the programme before fieldwork: on which working day each
enumerator interviews in which village, and when each municipality's LSG assessment and focus
groups take place. A pure function of the study definition, the geography, the start day and the
days off; ``reports/plan.py`` writes it as ``fieldwork_plan.xlsx``. It lives in ``forms/``
beside the sample plan it lays out, so that the simulated field team may follow it too.

How it is laid out:
- The window is ``sample_plan.fieldwork_days`` working days from the start (``--start``, else
  ``study.fieldwork_start``, else the next Monday), never past ``study.fieldwork_end``: interviews
  outside the study's dates are flagged ``outside_window`` and left out of the scores.
- A team works in one municipality a day, all its enumerators together with the supervisor, and
  finishes a rayon's municipalities before it moves to the next (rayons of one oblast together,
  in the order the team lists them); villages in the order geography.csv lists them.
- An enumerator does at most the sample plan's interviews per enumerator-day (or the lower
  maximum given). A municipality takes the fewest days its interviews need at that rate; within
  them a village gets whole enumerator-days of its own while the days allow, else an enumerator
  finishes one village and starts the next on the same day.
- The supervisor holds the LSG assessment (a morning, with the LSG's records) and the focus
  groups (``sample_plan.focus_groups``: LSG staff in office hours, residents in the afternoon or
  evening) on the team's days in the municipality, spread over them, one session at a time.
- What does not fit the window is still scheduled, on the working days after it, and reported
  (:attr:`FieldworkSchedule.problems`): a plan that cannot be kept is shown, never cut silently.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aimak.errors import ConfigError
from forms.calendar import is_working_day, next_monday, public_holidays, working_days
from forms.definition import Definition, Geography, Team
from forms.sample_plan import SamplePlan, VillageQuota, largest_remainder, plan_sample

LSG_ASSESSMENT, FOCUS_GROUP = "lsg_assessment", "focus_group"
LSG_STAFF = "lsg_staff"  # the focus-group type held with the LSG's own staff
# a supervisor's sessions in a day: (slot, start, end)
SLOTS = {
    "morning": (dt.time(9, 30), dt.time(12, 30)),
    "afternoon": (dt.time(14, 0), dt.time(16, 0)),
    "evening": (dt.time(16, 30), dt.time(18, 30)),
}
# the slots a session may take, the most fitting first: the assessment needs the office's
# morning and its records; LSG staff meet in office hours; residents after their day's work
ALLOWED_SLOTS = {
    LSG_ASSESSMENT: ("morning",),
    LSG_STAFF: ("morning", "afternoon"),
    "residents": ("afternoon", "evening", "morning"),
}


@dataclass(frozen=True)
class Assignment:
    """One enumerator's interviews in one village on one day."""

    day: dt.date
    team: str
    enumerator: str
    municipality: str
    village: str
    interviews: int


@dataclass(frozen=True)
class Session:
    """An LSG assessment or a focus group, held by ``person`` (the team's supervisor)."""

    day: dt.date
    start: dt.time
    end: dt.time
    team: str
    municipality: str
    kind: str  # lsg_assessment | focus_group
    group_type: str | None
    person: str


@dataclass(frozen=True)
class Stay:
    """A team's consecutive working days in one municipality."""

    team: str
    municipality: str
    days: tuple[dt.date, ...]
    interviews_per_enumerator_day: int  # the most any enumerator is given on a day here


@dataclass(frozen=True)
class Overflow:
    """A team's work that falls after the window."""

    team: str
    days: tuple[dt.date, ...]
    interviews: int
    sessions: int


@dataclass(frozen=True)
class FieldworkSchedule:
    plan: SamplePlan
    start: dt.date
    window: tuple[dt.date, ...]
    days_off: tuple[dt.date, ...]  # weekdays off between the start and the last day scheduled
    stays: tuple[Stay, ...]
    assignments: tuple[Assignment, ...]
    sessions: tuple[Session, ...]
    overflow: tuple[Overflow, ...]

    @property
    def last_day(self) -> dt.date:
        return max(stay.days[-1] for stay in self.stays)

    @property
    def fits(self) -> bool:
        return not self.overflow

    def in_window(self, day: dt.date) -> bool:
        return self.window[0] <= day <= self.window[-1]

    @property
    def problems(self) -> tuple[str, ...]:
        """One line per team whose work does not fit the window: by how much, and the fix."""
        first, last = self.window[0].isoformat(), self.window[-1].isoformat()
        return tuple(
            f"team {o.team} needs {len(o.days)} working day(s) past the fieldwork window "
            f"({len(self.window)} working days, {first} to {last}), to {o.days[-1].isoformat()}, "
            f"for {o.interviews} interviews and {o.sessions} sessions. Fix: add enumerators to "
            f"team {o.team} or give one of its municipalities to another team, raise the "
            "interviews an enumerator may do in a day, or lengthen the window "
            "(sample_plan.fieldwork_days, study.fieldwork_end)"
            for o in self.overflow)


def schedule_fieldwork(definition: Definition, geography: Geography, *,
                       start: dt.date | None = None, days_off: Iterable[dt.date] = (),
                       public_holidays_off: bool = True, max_per_day: int | None = None,
                       today: dt.date | None = None) -> FieldworkSchedule:
    """Lay out the round's fieldwork (see the module docstring).

    ``days_off`` are days nobody works besides weekends and, when ``public_holidays_off``,
    Kyrgyzstan's public holidays; ``max_per_day`` caps the interviews of an enumerator-day below
    the sample plan's own figure; ``today`` (default: today) gives the next Monday when neither
    ``start`` nor ``study.fieldwork_start`` is set. Raises :class:`ConfigError` for a start or a
    maximum that cannot be used.
    """
    study = definition.study
    settings = definition.sample_plan
    if max_per_day is not None and max_per_day < 1:
        raise ConfigError(f"the interviews an enumerator may do in a day must be 1 or more, "
                          f"not {max_per_day}: give a whole number such as 8")
    start = _start(definition, start, today)
    off = _DaysOff(set(days_off), public_holidays_off)
    window = [d for d in working_days(start, settings.fieldwork_days, off)
              if study.fieldwork_end is None or d <= dt.date.fromisoformat(study.fieldwork_end)]
    if not window:
        raise ConfigError(f"no working day between the start {start.isoformat()} and "
                          f"study.fieldwork_end {study.fieldwork_end}: give an earlier --start "
                          "or a later fieldwork_end in indicators.yaml")
    plan = plan_sample(definition, geography)
    calendar = _Calendar(start, off)
    busy: set[tuple[str, dt.date, str]] = set()  # (person, day, slot) already taken
    stays: list[Stay] = []
    assignments: list[Assignment] = []
    sessions: list[Session] = []
    for team in settings.teams:
        first = 0  # the team's next working day, as an index into the calendar
        for code in _route(team, geography):
            mplan = plan.municipalities[code]
            cap = min(mplan.interviews_per_enumerator_day, max_per_day or math.inf)
            width = len(team.enumerators)
            slots = pack_villages(mplan.villages, int(cap), width)
            needed = math.ceil(len(slots) / width)
            while True:  # the fewest days that hold the interviews and every session
                days = calendar.days(first, max(1, needed))
                held = place_sessions(days, team, code, settings.focus_groups, busy)
                if held is not None:
                    break
                needed = max(1, needed) + 1
            first += len(days)
            busy.update((s.person, s.day, _slot_of(s)) for s in held)
            sessions += held
            for j, slot in enumerate(slots):
                day, enumerator = days[j // width], team.enumerators[j % width]
                assignments += [Assignment(day, team.code, enumerator, code, village, n)
                                for village, n in slot]
            stays.append(Stay(team.code, code, tuple(days),
                              max((sum(n for _, n in slot) for slot in slots), default=0)))
    last = max(stay.days[-1] for stay in stays)
    return FieldworkSchedule(
        plan=plan, start=start, window=tuple(window),
        days_off=tuple(d for d in _dates(start, last) if d.weekday() < 5 and d in off),
        stays=tuple(stays), assignments=tuple(assignments), sessions=tuple(sessions),
        overflow=_overflow(window[-1], stays, assignments, sessions))


def _start(definition: Definition, start: dt.date | None, today: dt.date | None) -> dt.date:
    study = definition.study
    if start is not None and study.fieldwork_start and start < dt.date.fromisoformat(study.fieldwork_start):
        raise ConfigError(f"the start {start.isoformat()} is before study.fieldwork_start "
                          f"{study.fieldwork_start}: interviews before it would be flagged "
                          "outside_window; give a later --start or change fieldwork_start in "
                          "indicators.yaml")
    if start is None and study.fieldwork_start:
        start = dt.date.fromisoformat(study.fieldwork_start)
    return start if start is not None else next_monday(today or dt.date.today())


class _DaysOff:
    """Days off: those given, and the public holidays when asked for (any year)."""

    def __init__(self, given: set[dt.date], public: bool):
        self.given = given
        self.public = public_holidays() if public else {}

    def __contains__(self, day: object) -> bool:
        return day in self.given or day in self.public


class _Calendar:
    """The working days from the start, as many as are asked for."""

    def __init__(self, start: dt.date, off: _DaysOff):
        self.off = off
        self._days = working_days(start, 1, off)

    def days(self, first: int, count: int) -> list[dt.date]:
        while len(self._days) < first + count:
            day = self._days[-1] + dt.timedelta(days=1)
            while not is_working_day(day, self.off):
                day += dt.timedelta(days=1)
            self._days.append(day)
        return self._days[first:first + count]


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _route(team: Team, geography: Geography) -> list[str]:
    """The team's municipalities grouped by oblast, then rayon (each in the order the team first
    lists one of theirs): a team finishes a rayon before it moves on and never comes back."""
    municipalities = geography.municipalities
    order: dict[tuple[str, str], int] = {}
    for code in team.municipalities:
        rayon = municipalities[code].rayon
        oblast = geography.rayons[rayon].oblast
        order.setdefault((oblast, ""), len(order))
        order.setdefault((oblast, rayon), len(order))

    def key(code: str) -> tuple[int, int]:
        rayon = municipalities[code].rayon
        oblast = geography.rayons[rayon].oblast
        return order[(oblast, "")], order[(oblast, rayon)]

    return sorted(team.municipalities, key=key)  # stable: the team's order within a rayon


def pack_villages(villages: Sequence[VillageQuota], cap: int,
                  enumerators: int) -> list[list[tuple[str, int]]]:
    """Share a municipality's village interviews among enumerator-days of at most ``cap``
    interviews, in the fewest days ``enumerators`` need. Each enumerator-day is a list of
    (village, interviews); the j-th is enumerator ``j % enumerators`` on day ``j // enumerators``.

    A village gets whole enumerator-days of its own (its interviews spread evenly over them)
    whenever what is left still fits the days; otherwise its interviews continue where the last
    enumerator-day left room, so a day may hold the end of one village and the start of the
    next. Either way the interviews of the villages after it always fit.
    """
    work = [(v.village, v.interviews) for v in villages if v.interviews > 0]
    total = sum(n for _, n in work)
    room = math.ceil(total / (cap * enumerators)) * enumerators  # enumerator-days available
    slots: list[list[tuple[str, int]]] = []
    free = 0  # room left in the last enumerator-day that a next village may use
    left = total
    for village, n in work:
        left -= n
        whole = math.ceil(n / cap)
        if len(slots) + whole + math.ceil(left / cap) <= room:
            slots += [[(village, part)] for part in largest_remainder(n, [1] * whole)]
            free = 0
            continue
        rest = n
        if free:
            take = min(free, rest)
            slots[-1].append((village, take))
            rest -= take
            free -= take
        while rest:
            take = min(cap, rest)
            slots.append([(village, take)])
            rest -= take
            free = cap - take
    return slots


def _sessions_of(focus_groups: dict[str, int]) -> list[tuple[str, str | None]]:
    """(kind, group type) of a municipality's sessions: the assessment, LSG staff, residents."""
    groups = sorted(((g, n) for g, n in focus_groups.items() if n > 0), key=lambda g: g[0] != LSG_STAFF)
    return [(LSG_ASSESSMENT, None)] + [(FOCUS_GROUP, g) for g, n in groups for _ in range(n)]


def place_sessions(days: Sequence[dt.date], team: Team, municipality: str,
                   focus_groups: dict[str, int],
                   busy: set[tuple[str, dt.date, str]]) -> list[Session] | None:
    """The municipality's sessions on its ``days``, one per day in turn (the i-th on day i, then
    round again), each in the first free slot its kind allows; the supervisor is never in two
    sessions at once (``busy`` holds what is taken elsewhere). None when the days cannot hold
    them all."""
    taken = set(busy)
    out = []
    for i, (kind, group) in enumerate(_sessions_of(focus_groups)):
        allowed = ALLOWED_SLOTS[kind if kind == LSG_ASSESSMENT else
                                LSG_STAFF if group == LSG_STAFF else "residents"]
        place = next(((day, slot) for k in range(len(days))
                      for day in [days[(i + k) % len(days)]] for slot in allowed
                      if (team.supervisor, day, slot) not in taken), None)
        if place is None:
            return None
        day, slot = place
        taken.add((team.supervisor, day, slot))
        begin, end = SLOTS[slot]
        out.append(Session(day, begin, end, team.code, municipality, kind, group, team.supervisor))
    return out


def _slot_of(session: Session) -> str:
    return next(name for name, (begin, _end) in SLOTS.items() if begin == session.start)


def _overflow(last: dt.date, stays: list[Stay], assignments: list[Assignment],
              sessions: list[Session]) -> tuple[Overflow, ...]:
    out = []
    for team in dict.fromkeys(stay.team for stay in stays):
        days = sorted({d for s in stays if s.team == team for d in s.days if d > last})
        if days:
            out.append(Overflow(
                team, tuple(days),
                sum(a.interviews for a in assignments if a.team == team and a.day > last),
                sum(1 for s in sessions if s.team == team and s.day > last)))
    return tuple(out)
