"""A national-size study for bench/score.py, in the warehouse exactly as `aimak sync` leaves it.

The study: the bundled definition, with the bundled geography's four municipalities copied under
new codes until there are ``MUNICIPALITIES`` (260, about the number of aiyl aimaks and towns in
Kyrgyzstan); each village's adults are scaled by a seeded factor so that municipalities differ.
One field team of five enumerators per municipality, and a fieldwork window.

The fieldwork: the simulator draws the world (every municipality × service's true satisfaction
and effectiveness, village effects, the enumerators with their planted faults), the respondents
(``n`` interviews in all, about 770 per municipality for 200,000), the schedule (refusals,
edits, deletions, supervisors' validation statuses) and every answer, exactly as ``aimak
simulate`` does (``fieldsim``). Each finalised visit becomes the KoboToolbox data record its
XForm instance would be (answers under their group paths, repeats as lists of records, the
form's calculations and instance name, ``meta/instanceID``, ``__version__`` ...), put on a local
server through its bulk path, with the validation statuses a supervisor would set. Then the real
``aimak forms deploy`` and ``aimak sync`` stages fill the warehouse. Only JavaRosa filling and
OpenRosa posting are skipped: they change no answer (bench/coverage.py skips them too) and would
take hours at this size. Photos are left out (the sync would download them; scoring never
reads them).

Made once per size in out/bench/score-<n>/ (ready.json marks a finished corpus); the scoring
runs work on a copy of its warehouse.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
import random
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aimak.settings import Settings  # noqa: E402
from fieldsim.fieldwork import CITIZEN, FOCUS, LSG, Visit, plan_fieldwork  # noqa: E402
from fieldsim.personas import World, draw_respondents, make_world  # noqa: E402
from fieldsim.server import LocalServer  # noqa: E402
from fieldsim.server.instance import validation_object  # noqa: E402
from fieldsim.simulate import _answers  # noqa: E402
from flows.stages import deploy, sync  # noqa: E402
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402
from forms.build import build_forms, generate_forms, load_study  # noqa: E402
from forms.sample_plan import plan_sample  # noqa: E402
from forms.xlsform import FormSpec  # noqa: E402

MUNICIPALITIES = 260
ENUMERATORS = 5  # per team, one team per municipality
SEED = 2026
FIELDWORK_START = dt.date(2026, 11, 9)  # a Monday; ten working days
FIELDWORK_END = dt.date(2026, 11, 20)
TOKEN = "c" * 40
BATCH = 5000  # records per insert into the server's store
META_TYPES = {"start", "end", "today", "deviceid"}
GROUPS = {"begin_group", "begin_repeat", "end_group", "end_repeat"}


def corpus(n: int, log=print) -> Path:
    """The folder of the corpus of ``n`` citizen interviews, built when missing; its warehouse is
    ``warehouse.duckdb`` and its study ``study/indicators.yaml`` and ``study/geography.csv``."""
    folder = ROOT / "out" / "bench" / f"score-{n}"
    marker = folder / "ready.json"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    began = time.perf_counter()
    definition_path, geography_path = write_study(folder / "study")
    definition, geography = load_study(definition_path, geography_path)
    build_forms(definition_path, geography_path, folder / "forms", validate=False)
    log(f"corpus: study of {len(geography.municipalities)} municipalities, "
        f"{len(geography.villages)} villages; forms built ({time.perf_counter() - began:.0f} s)")
    world = make_world(definition, geography, SEED)
    plan = plan_sample(definition, geography)
    visits = plan_fieldwork(world, plan, draw_respondents(world, plan, n), start=FIELDWORK_START)
    visits = sorted((v for v in visits if not v.deleted), key=lambda v: v.sent)
    log(f"corpus: {len(visits)} visits drawn ({time.perf_counter() - began:.0f} s)")
    specs = {spec.form_id: spec for spec in generate_forms(definition, geography)}
    warehouse = folder / "warehouse.duckdb"
    with LocalServer(folder / "server", token=TOKEN) as server:
        settings = Settings(kobo_url=server.api_url, kobo_token=TOKEN, warehouse=warehouse)
        deployed = {d.form_id: d for d in deploy(settings, folder / "forms").deployed}
        store = server.state.store
        for form in (CITIZEN, LSG, FOCUS):
            target = deployed[form]
            writer = RecordWriter(world, specs[form], target.asset_uid, target.version_id)
            mine = (v for v in visits if v.form == form)
            for batch in _batches((writer.record(v) for v in mine), BATCH):
                store.insert_records(target.asset_uid, [r for r, _ in batch], server.username)
                with store.transaction() as db:
                    db.executemany(
                        "UPDATE submissions SET validation = ? WHERE asset_uid = ? AND uuid = ?",
                        [(json.dumps(validation_object(status, "demo", int(time.time()))),
                          target.asset_uid, r["_uuid"]) for r, status in batch if status])
            log(f"corpus: {form} records on the server ({time.perf_counter() - began:.0f} s)")
        synced = sync(settings, progress=False, attachments=False)
    for line in synced.lines():
        log(f"corpus: {line}")
    quarantined = sum(result.quarantined for result in synced.forms)
    if quarantined:
        raise RuntimeError(f"{quarantined} records were quarantined by the sync: the records "
                           "written here do not match their forms")
    marker.write_text(json.dumps({"n": n, "visits": len(visits),
                                  "seconds": round(time.perf_counter() - began)}))
    log(f"corpus ready in {folder} ({time.perf_counter() - began:.0f} s)")
    return folder


def write_study(folder: Path) -> tuple[Path, Path]:
    """The national study's definition and geography files (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [r for r in csv.reader(BUNDLED_GEOGRAPHY.read_text(encoding="utf-8").splitlines())
            if r and not r[0].startswith("#")]
    header, rows = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    originals = sorted({r[col["municipality_code"]] for r in rows})
    rng = random.Random(f"national:{SEED}")
    out, codes = [], []
    for copy in range(MUNICIPALITIES // len(originals)):
        for original in originals:
            code = f"M{copy + 1:02d}{original}"
            codes.append(code)
            for r in rows:
                if r[col["municipality_code"]] != original:
                    continue
                r = list(r)
                r[col["municipality_code"]] = code
                r[col["village_code"]] = f"M{copy + 1:02d}{r[col['village_code']]}"
                for lang in ("ru", "ky", "en"):
                    r[col[f"municipality_{lang}"]] += f" {copy + 1}"
                    r[col[f"village_{lang}"]] += f" {copy + 1}"
                scale = rng.uniform(0.6, 1.6)
                for name, i in col.items():
                    if name.startswith("pop_") and r[i]:
                        r[i] = str(round(int(r[i]) * scale))
                out.append(r)
    geography = folder / "geography.csv"
    with geography.open("w", encoding="utf-8", newline="") as f:
        f.write(f"# bench/national.py: {len(codes)} municipalities copied from the bundled "
                "geography (synthetic, not official statistics)\n")
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(out)
    text = BUNDLED_DEFINITION.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(  round: .*\n)",
                  rf"\g<1>  fieldwork_start: {FIELDWORK_START}\n  fieldwork_end: {FIELDWORK_END}\n",
                  text, count=1)
    teams = "".join(
        f"    - code: T{t + 1:03d}\n      supervisor: S{t + 1:03d}\n"
        f"      enumerators: [{', '.join(f'E{t * ENUMERATORS + i + 1:04d}' for i in range(ENUMERATORS))}]\n"
        f"      municipalities: [{code}]\n" for t, code in enumerate(codes))
    text, found = re.subn(r"(?m)^  teams:\n(?:    .*\n)+", f"  teams:\n{teams}", text, count=1)
    if not found:
        raise RuntimeError(f"no 'teams:' block found in {BUNDLED_DEFINITION}")
    definition = folder / "indicators.yaml"
    definition.write_text(text, encoding="utf-8")
    return definition, geography


@dataclasses.dataclass
class RecordWriter:
    """KoboToolbox data records of one form's visits (the shape its data pages have)."""

    world: World
    spec: FormSpec
    asset_uid: str
    version_id: str

    def __post_init__(self) -> None:
        # question name -> (path, the repeats it sits in); repeat chain -> the repeat's path
        self.paths: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.repeats: dict[tuple[str, ...], str] = {}
        stack: list[tuple[str, str]] = []
        for row in self.spec.survey:
            kind = row.type.split(" ")[0]
            if kind in ("begin_group", "begin_repeat"):
                stack.append((kind, row.name))
                if kind == "begin_repeat":
                    chain = tuple(name for k, name in stack if k == "begin_repeat")
                    self.repeats[chain] = "/".join(name for _, name in stack)
            elif kind in ("end_group", "end_repeat"):
                stack.pop()
            elif kind != "audit":
                self.paths[row.name] = ("/".join([*(name for _, name in stack), row.name]),
                                        tuple(name for k, name in stack if k == "begin_repeat"))
        self.formhub = hashlib.md5(self.asset_uid.encode()).hexdigest()
        self.ages = [(g.min, g.max, g.code) for g in self.world.definition.age_groups]

    def record(self, visit: Visit) -> tuple[dict[str, Any], str | None]:
        """The visit's record as the server keeps it, and its validation status."""
        answers = _answers(self.world, visit)
        values = {k: v for k, v in answers.values.items() if not k.endswith("_photo")}
        end = visit.edit_at or visit.end
        if visit.edit_at and "hh_size" in values:  # what the supervisor had corrected
            values["hh_size"] = min(30, int(values["hh_size"]) + 1)
        enumerator = self.world.enumerators.get(visit.enumerator)
        values.update(start=visit.start.isoformat(timespec="milliseconds"),
                      end=end.isoformat(timespec="milliseconds"),
                      today=visit.start.date().isoformat(),
                      deviceid=enumerator.deviceid if enumerator
                      else f"collect:SUPERVISOR{visit.enumerator}",
                      study_round=self.world.definition.study.round)
        if "resp_age" in values:
            age = int(values["resp_age"])
            values["resp_age_group"] = next(c for low, high, c in self.ages if low <= age <= high)
        if "fg_participant" in answers.repeats:
            values["fg_n_participants"] = answers.repeats["fg_participant"]
        unknown = sorted(set(values) - set(self.paths))
        if unknown:
            raise RuntimeError(f"{visit.form}: answers {unknown} are no question of the form")
        record: dict[str, Any] = {"formhub/uuid": self.formhub}
        self._fill(record, values, answers.repeats, (), ())
        instance = visit.final_instance_id
        record.update({
            "__version__": self.version_id,
            "meta/instanceID": instance,
            "meta/instanceName": self._instance_name(values),
            "_xform_id_string": self.asset_uid,
            "_uuid": instance.removeprefix("uuid:"),
            "meta/rootUuid": visit.instance_id,
            "_attachments": [],
            "_status": "submitted_via_web",
            "_geolocation": _geolocation(values.get("gps")),
            "_submission_time": visit.sent.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        })
        if visit.edit_at:
            record["meta/deprecatedID"] = visit.instance_id
        return record, visit.validation

    def _fill(self, out: dict[str, Any], values: dict[str, Any], counts: dict[str, Any],
              chain: tuple[str, ...], index: tuple[int, ...]) -> None:
        for name, (path, where) in self.paths.items():
            if where == chain and values.get(name) is not None:
                value = values[name]
                for i in index:
                    value = value[i]
                out[path] = _text(value)
        for inner, path in self.repeats.items():
            if inner[:-1] != chain:
                continue
            count = counts.get(inner[-1], 0)
            for i in index:
                count = count[i]
            rows = []
            for j in range(count):
                row: dict[str, Any] = {}
                self._fill(row, values, counts, inner, (*index, j))
                rows.append(row)
            if rows:
                out[path] = rows

    def _instance_name(self, v: dict[str, Any]) -> str:
        """The form's instance_name expression (forms/citizen.py, lsg.py, focus_group.py)."""
        if self.spec.form_id == CITIZEN:
            return (f"{v['municipality']}-{v['village']} {v['enumerator']} "
                    f"{v.get('resp_sex', '')}{v.get('resp_age', '')} {v['today']}")
        if self.spec.form_id == LSG:
            return f"{v['municipality']} {v['study_round']} {v['assessment_date']}"
        return f"{v['municipality']} {v['fg_group_type']} {v['fg_date']}"


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(x) for x in value)
    return str(value)


def _geolocation(gps: str | None) -> list[float | None]:
    if not gps:
        return [None, None]
    lat, lon = gps.split()[:2]
    return [float(lat), float(lon)]


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
