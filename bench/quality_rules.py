"""How well the data-quality rules find the faults the simulator plants, and how often they flag
honest interviews, over seeded simulated rounds.

For each seed the simulator's world, respondents, schedule and every interview's answers are drawn
exactly as ``aimak simulate`` draws them (``fieldsim.personas``, ``fieldsim.fieldwork``,
``fieldsim.simulate._answers``) and written straight into a warehouse in the shapes a sync leaves
behind (``tests/scoring_world.py``; every answered question gets a label, as the deployed form
gives one to each question a person sees), skipping only JavaRosa and HTTP, which change no answer.
The bundled definition scores them (``warehouse.scoring.score``) with its fieldwork window set to
the simulated working days. Which interviews carry a fault is known from the simulator:

- straight_lining: the straight-lining enumerator's consented interviews;
- too_short and gps_far: the interviews the fabricating enumerator made up at home in minutes
  (``fieldsim.personas.fabricated``);
- gps_missing: the interviews whose phone got no fix (no ``gps`` answer);
- enumerator_outlier: the interviews of the enumerator who records answers a point higher;
- duplicate_instance and outside_window: none planted (the server refuses a second copy, the phones
  keep the right date), so every flag is a false positive.

Reported per rule, over all seeds: the share of planted interviews flagged (detection) and of
the other consented interviews flagged (false positives), with counts; for enumerator_outlier
also per enumerator and round (the unit the rule judges), with the smallest |z| of a planted
outlier and the largest of an honest enumerator (the margins on either side of the threshold).

Run: .venv/bin/python bench/quality_rules.py [--seeds 10] [--first-seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from fieldsim.fieldwork import CITIZEN, plan_fieldwork, working_days  # noqa: E402
from fieldsim.personas import draw_respondents, fabricated, make_world  # noqa: E402
from fieldsim.simulate import _answers  # noqa: E402
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402
from forms.build import load_study  # noqa: E402
from forms.definition import QUALITY_RULES  # noqa: E402
from forms.sample_plan import plan_sample  # noqa: E402
from tests.quality_world import write_labels  # noqa: E402
from tests.scoring_world import write_synced  # noqa: E402
from warehouse.scoring import score  # noqa: E402

FIELDWORK_START = dt.date(2026, 11, 9)


def simulated_round(definition, geography, plan, seed: int):
    """The citizen rows of one simulated round and, per submission id, its planted faults."""
    world = make_world(definition, geography, seed)
    people = draw_respondents(world, plan, None)
    visits = plan_fieldwork(world, plan, people, start=FIELDWORK_START)
    groups = {g.code: g for g in definition.age_groups}
    rows, planted, questions = [], {}, set()
    for number, visit in enumerate(visits, start=1):
        if visit.deleted or visit.form != CITIZEN:
            continue
        values = dict(_answers(world, visit).values)
        questions.update(values)
        row = {"_id": number, "_validation_status": visit.validation,
               "_instance_id": visit.final_instance_id, "study_round": definition.study.round,
               "start": visit.start, "end": visit.end,
               "_submission_time": visit.sent.astimezone(dt.UTC).replace(tzinfo=None), **values}
        gps = values.pop("gps", None)
        lat, lon, _alt, acc = (float(x) for x in gps.split()) if gps else (None,) * 4
        row.update(gps_latitude=lat, gps_longitude=lon, gps_accuracy=acc)
        if "resp_age" in values:
            age = int(values["resp_age"])
            row["resp_age_group"] = next(g for g in groups.values() if g.min <= age <= g.max).code
        rows.append(row)
        enumerator = world.enumerators[visit.enumerator]
        faults = set()
        if enumerator.straight_liner:
            faults.add("straight_lining")
        if fabricated(world, visit.respondent, enumerator):
            faults |= {"too_short", "gps_far"}
        if enumerator.inflates:
            faults.add("enumerator_outlier")
        if gps is None:
            faults.add("gps_missing")
        planted[number] = faults
    return rows, planted, questions


def run_seed(definition, geography, plan, seed: int):
    """(planted faults by submission id, consented interviews: id -> (enumerator, flags), the
    z of every enumerator compared, seconds the scoring took)."""
    rows, planted, questions = simulated_round(definition, geography, plan, seed)
    conn = duckdb.connect()
    write_synced(conn, rows)
    write_labels(conn, CITIZEN, questions)
    began = time.perf_counter()
    score(conn, definition, geography)
    seconds = time.perf_counter() - began
    consented = {r[0]: (r[1], set(r[2])) for r in conn.execute(
        "SELECT submission_id, enumerator_code, flags FROM fct_interviews WHERE consent = 'yes'"
    ).fetchall()}
    z = dict(conn.execute("""SELECT DISTINCT enumerator_code, measure FROM quality_flags
                             WHERE rule = 'enumerator_outlier'""").fetchall())
    return planted, consented, z, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args()
    definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    threshold = definition.quality.enumerator_outlier_z
    days = working_days(FIELDWORK_START, definition.sample_plan.fieldwork_days)
    # every compared enumerator's z is recorded (threshold 0, not excluding), and the bundled
    # threshold applied here: the same comparison the model makes, with the margins visible
    definition = dataclasses.replace(
        definition,
        study=dataclasses.replace(definition.study, fieldwork_start=days[0].isoformat(),
                                  fieldwork_end=days[-1].isoformat()),
        quality=dataclasses.replace(definition.quality, enumerator_outlier_z=0.0, exclude={
            **definition.quality.exclude, "enumerator_outlier": False}))
    plan = plan_sample(definition, geography)
    counts = {rule: [0, 0, 0, 0] for rule in QUALITY_RULES}  # planted hit, planted, other hit, other
    planted_z, honest_z = [], []
    total, seconds = 0, 0.0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        planted, consented, z, took = run_seed(definition, geography, plan, seed)
        seconds += took
        total += len(consented)
        outliers = {enumerator for sid, (enumerator, _) in consented.items()
                    if "enumerator_outlier" in planted.get(sid, set())}
        for sid, (enumerator, flags) in consented.items():
            if "enumerator_outlier" in flags:  # recorded for everyone: judge at the threshold
                flags.discard("enumerator_outlier")
                if abs(z[enumerator]) > threshold:
                    flags.add("enumerator_outlier")
            for rule in QUALITY_RULES:
                is_planted = rule in planted.get(sid, set())
                cell = counts[rule]
                cell[0 if is_planted else 2] += rule in flags
                cell[1 if is_planted else 3] += 1
        for enumerator, value in z.items():
            (planted_z if enumerator in outliers else honest_z).append(abs(value))
        print(f"seed {seed}: {len(consented)} consented interviews scored in {took:.1f} s",
              flush=True)

    def share(hit: int, of: int) -> str:
        return f"{hit / of:.4f} ({hit}/{of})" if of else "n/a (none planted)"

    print(f"\n{args.seeds} seeded rounds, {total} consented interviews; scoring took {seconds:.1f} s")
    print(f"{'rule':<20}{'detection: planted flagged':<32}false positives: others flagged")
    for rule in QUALITY_RULES:
        hit, planted_n, other_hit, others = counts[rule]
        print(f"{rule:<20}{share(hit, planted_n):<32}{share(other_hit, others)}")
    print(f"enumerator_outlier per enumerator and round, |z| > {threshold}: planted "
          f"{share(sum(v > threshold for v in planted_z), len(planted_z))}, honest "
          f"{share(sum(v > threshold for v in honest_z), len(honest_z))}; smallest planted |z| "
          f"{min(planted_z):.1f}, largest honest |z| {max(honest_z):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
