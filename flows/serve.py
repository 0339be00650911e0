"""``aimak serve``: the deployments a data manager needs during fieldwork, served from this
machine with schedules that can be changed (paused, moved, added to) in the Prefect UI.

* ``sync`` — every 30 minutes from 07:00 to 20:30 on each day of the fieldwork window;
* ``evening`` — at 21:00 each day of the window and the day after it: scores and every workbook;
* ``morning`` — at 06:30 from the window's second day to the day after it: the fieldwork workbook;
* ``run`` — no schedule: the whole pipeline, started by hand from the UI.

Times are in the study's time zone (``quality.time_zone``). The window is the study definition's
``study.fieldwork_start`` and ``study.fieldwork_end``, else the fieldwork plan's (``aimak plan``).
The runs never overlap on the warehouse (each deployment runs one flow run at a time, and the
sync's last slot ends before the evening's). The token stays in the serving process's
environment: no deployment parameter holds it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimak.errors import ConfigError
from aimak.settings import Settings, prefect_api_url

SYNC_HOURS = range(7, 21)  # 07:00 to 20:30, every 30 minutes
EVENING = (21, 0)
MORNING = (6, 30)


@dataclass(frozen=True)
class Window:
    first: dt.date
    last: dt.date
    time_zone: str


def fieldwork_window(definition: Path, geography: Path) -> Window:
    """The days of fieldwork: the definition's own, else the fieldwork plan's."""
    from forms.build import load_study
    from forms.schedule import schedule_fieldwork

    study, places = load_study(definition, geography)
    start, end = study.study.fieldwork_start, study.study.fieldwork_end
    if start and end:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    else:
        schedule = schedule_fieldwork(study, places)
        first, last = schedule.start, schedule.last_day
    return Window(first, last, study.quality.time_zone)


def schedules(window: Window) -> dict[str, list[Any]]:
    """The schedule of each deployment, as RRULEs bounded by the window."""
    from prefect.schedules import RRule

    def rule(first: dt.date, until: dt.date, body: str) -> Any:
        text = (f"DTSTART:{first:%Y%m%d}T000000\n"
                f"RRULE:{body};UNTIL={until:%Y%m%d}T235959")
        return RRule(text, timezone=window.time_zone)

    day_after = window.last + dt.timedelta(days=1)
    hours = ",".join(str(h) for h in SYNC_HOURS)
    return {
        "sync": [rule(window.first, window.last,
                      f"FREQ=DAILY;BYHOUR={hours};BYMINUTE=0,30;BYSECOND=0")],
        "evening": [rule(window.first, day_after,
                         f"FREQ=DAILY;BYHOUR={EVENING[0]};BYMINUTE={EVENING[1]};BYSECOND=0")],
        "morning": [rule(window.first + dt.timedelta(days=1), day_after,
                         f"FREQ=DAILY;BYHOUR={MORNING[0]};BYMINUTE={MORNING[1]};BYSECOND=0")],
        "run": [],
    }


def deployments(settings: Settings, definition: Path, geography: Path, forms_dir: Path) -> list[Any]:
    """The four deployments (see the module docstring), their parameters the paths only."""
    from flows.daily import evening_flow, morning_flow
    from flows.pipeline import run_flow
    from flows.sync import sync_flow

    window = fieldwork_window(definition, geography)
    timing = schedules(window)
    paths = {"definition": str(Path(definition).absolute()),
             "geography": str(Path(geography).absolute()),
             "warehouse": str(Path(settings.warehouse).absolute())}
    reports = {**paths, "out": str(Path(settings.out).absolute()), "lang": settings.lang}
    span = f"{window.first.isoformat()} to {window.last.isoformat()} ({window.time_zone})"
    return [
        sync_flow.to_deployment(
            "sync", schedules=timing["sync"], concurrency_limit=1, tags=["aimak"],
            parameters={"warehouse": paths["warehouse"]},
            description=f"Pull new, edited and deleted submissions every 30 minutes, {span}."),
        evening_flow.to_deployment(
            "evening", schedules=timing["evening"], concurrency_limit=1, tags=["aimak"],
            parameters=reports,
            description=f"Scores and every workbook at 21:00, {span} and the day after."),
        morning_flow.to_deployment(
            "morning", schedules=timing["morning"], concurrency_limit=1, tags=["aimak"],
            parameters=reports,
            description="The supervisors' fieldwork workbook at 06:30 during fieldwork."),
        run_flow.to_deployment(
            "run", concurrency_limit=1, tags=["aimak"],
            parameters={**reports, "forms_dir": str(Path(forms_dir).absolute())},
            description="The whole pipeline (build, deploy, sync, score, workbooks), by hand."),
    ]


def require_prefect_api() -> str:
    """The Prefect API to serve to; without one the schedules would have nobody to run them."""
    url = prefect_api_url()
    if url is None:
        raise ConfigError("aimak serve needs a Prefect server to hold the schedules: start one "
                          "with 'prefect server start' (in another terminal), then set "
                          "PREFECT_API_URL=http://127.0.0.1:4200/api and run 'aimak serve' again.")
    return url
