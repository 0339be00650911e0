"""What a simulated fieldwork run was asked to do, kept as ``run.json`` in its folder.

The schedule, the respondents and the instance ids all follow from these parameters, so a later
run can plan the same fieldwork again: when the earlier run handed every instance over (sent, or
kept in its outbox) the later run only sends the outbox and supervises; when it stopped before
that (an error, Ctrl+C), the later run does it all again, and what had arrived comes back as
duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from aimak.errors import SimulationError
from fieldsim.fieldwork import Visit, plan_fieldwork
from fieldsim.outbox import Outbox
from fieldsim.personas import Respondent, World, draw_respondents
from fieldsim.rounds import world_of_round
from forms.build import load_study
from forms.sample_plan import plan_sample

RUN_FILE = "run.json"


@dataclass(frozen=True)
class RunParameters:
    seed: int
    respondents: int | None  # None: the sample plan's
    start: dt.date
    definition: Path
    geography: Path
    handed_over: bool = False  # every instance was filled and sent or kept in the outbox
    round_code: str | None = None  # None: the definition's round (fieldsim.rounds)

    def plan(self) -> tuple[World, list[Respondent], list[Visit]]:
        """The simulated world, its respondents and every visit of the fieldwork."""
        study, geo = load_study(self.definition, self.geography)
        plan = plan_sample(study, geo)
        world = world_of_round(study, geo, self.seed, self.round_code)
        people = draw_respondents(world, plan, self.respondents)
        return world, people, plan_fieldwork(world, plan, people, start=self.start)

    def write(self, folder: Path) -> None:
        (folder / RUN_FILE).write_text(json.dumps({
            "seed": self.seed, "respondents": self.respondents, "start": self.start.isoformat(),
            "definition": str(self.definition), "geography": str(self.geography),
            "handed_over": self.handed_over, "round": self.round_code}, indent=1),
            encoding="utf-8")

    @classmethod
    def read(cls, folder: Path, outbox: Outbox) -> RunParameters:
        path = folder / RUN_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(data["seed"]), data["respondents"], dt.date.fromisoformat(data["start"]),
                       Path(data["definition"]), Path(data["geography"]),
                       bool(data.get("handed_over")), data.get("round"))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise SimulationError(
                f"{outbox.folder} holds {len(outbox)} unsent instance(s) but {path} cannot be read "
                f"({err}), so the run they belong to is unknown. Fix: send them with the run that "
                "made them, or remove the outbox folder to drop them.") from err

    def check(self, seed: int, respondents: int | None, round_code: str | None = None) -> None:
        """Refuse a run with other parameters: it would plan other fieldwork than the outbox's."""
        if (seed, respondents, round_code) != (self.seed, self.respondents, self.round_code):
            given = _options(seed, respondents, round_code)
            wanted = _options(self.seed, self.respondents, self.round_code)
            raise SimulationError(
                f"this folder holds an outbox of unsent instances from the run with {wanted}, "
                f"not {given}. Fix: run again with {wanted} to send them, or choose another --out "
                "for a new run.")


def _options(seed: int, respondents: int | None, round_code: str | None) -> str:
    return (f"--seed {seed}" + (f" --respondents {respondents}" if respondents else "")
            + (f" --round {round_code}" if round_code else ""))
