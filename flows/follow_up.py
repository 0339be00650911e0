"""A follow-up round on a server that holds the baseline, for ``aimak demo --rounds 2``.

The round reaches the submissions only through the forms (their ``study_round`` calculate), so a
follow-up is: a copy of the study definition with the new round, its forms built and deployed
over the same assets (a new version of each), and the simulated fieldwork of that round, whose
true satisfaction and effectiveness differ from the baseline's in a seeded way
(:mod:`fieldsim.rounds`). Each stage is the function the single-round demo uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl.deploy import Deployed
from fieldsim.result import SimulationResult
from fieldsim.rounds import write_round_definition
from fieldsim.simulate import simulate
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import BuildResult, build_forms


@dataclass
class FollowUp:
    round_code: str
    definition: Path
    build: BuildResult
    deployed: list[Deployed]
    simulation: SimulationResult

    def summary(self) -> str:
        lines = [f"round {self.round_code}: definition {self.definition}"]
        lines += [f"{d.form_id}: {d.action} for {self.round_code} (server version {d.version_id})"
                  for d in self.deployed]
        return "\n".join([*lines, self.simulation.summary()])


def run_follow_up(folder: Path, round_code: str, deploy: Callable[[Path], list[Deployed]],
                  api_url: str, token: str, *, respondents: int | None = None, seed: int = 2026,
                  definition: Path = BUNDLED_DEFINITION,
                  geography: Path = BUNDLED_GEOGRAPHY) -> FollowUp:
    """Write ``folder/indicators.yaml`` (``definition`` with ``round_code``), build its forms into
    ``folder/forms``, hand that folder to ``deploy`` (the demo's: ``lambda forms:
    deploy_forms_flow(str(forms), warehouse)``) and simulate the round's fieldwork on the server at
    ``api_url`` into ``folder/simulation``, with the baseline's ``seed`` and ``definition``. The
    baseline must have been simulated with the default start for the rounds to follow each other
    in time (fieldsim.fieldwork.default_start)."""
    folder = Path(folder)
    copy = write_round_definition(Path(definition), round_code, folder / "indicators.yaml")
    built = build_forms(copy, Path(geography), folder / "forms", validate=True)
    deployed = deploy(folder / "forms")
    simulated = simulate(api_url, token, respondents=respondents, seed=seed,
                         out_dir=folder / "simulation", definition=Path(definition),
                         geography=Path(geography), round_code=round_code)
    return FollowUp(round_code, copy, built, deployed, simulated)
