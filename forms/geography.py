"""Load and check geography.csv: oblasts → rayons → municipalities → villages with adult
population by sex × age group.

Lines starting with ``#`` before the header are comments (the file says its figures are
synthetic there). Row numbers in errors are the file's own line numbers, as a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from aimak.errors import DefinitionError, Issue
from forms.checks import CHOICE_CODE_RE
from forms.definition import Definition, Geography, Municipality, Oblast, Rayon, Text, Village

LEVELS = ("oblast", "rayon", "municipality", "village")
TYPES = ("rural", "town")


def load_geography(path: Path, definition: Definition) -> Geography:
    """Read and check ``path`` against the definition; raise DefinitionError listing every mistake."""
    geography, issues = read_geography(path, definition)
    if issues:
        raise DefinitionError(issues)
    assert geography is not None
    return geography


def expected_columns(definition: Definition) -> list[str]:
    names = []
    for level in LEVELS:
        names += [f"{level}_code", f"{level}_ru", f"{level}_ky", f"{level}_en"]
        if level == "municipality":
            names += ["municipality_type", "features"]
    return names + [column for column, _sex, _age in definition.population_columns()]


def read_geography(path: Path, definition: Definition) -> tuple[Geography | None, list[Issue]]:
    """Read ``path``; return the geography (None when it has mistakes) and every mistake."""
    name = str(path)
    issues: list[Issue] = []

    def add(line: int | None, field: str, value: object, problem: str, fix: str) -> None:
        issues.append(Issue(name, line, field, value, problem, fix))

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        add(None, "file", str(path), "the file does not exist", "give the path with --geography")
        return None, issues
    except UnicodeDecodeError:
        add(None, "file", str(path), "the file is not UTF-8 text",
            "save it as 'CSV UTF-8' from the spreadsheet program")
        return None, issues

    lines = text.splitlines()
    first = 0
    while first < len(lines) and (not lines[first].strip() or lines[first].lstrip().startswith("#")):
        first += 1
    reader = csv.reader(io.StringIO("\n".join(lines[first:])))
    header = next(reader, None)
    if header is None:
        add(None, "header", None, "the file has no header row", "add the header row (see forms/README.md)")
        return None, issues
    header = [column.strip() for column in header]
    wanted = expected_columns(definition)
    missing = [column for column in wanted if column not in header]
    unknown = [column for column in header if column not in wanted]
    if missing:
        add(first + 1, "header", missing, "columns are missing",
            "add them; population columns follow the definition's sexes × age groups")
    if unknown:
        add(first + 1, "header", unknown, "columns are not known",
            f"rename or remove them; expected: {', '.join(wanted)}")
    if missing:
        return None, issues

    oblasts: dict[str, Oblast] = {}
    rayons: dict[str, Rayon] = {}
    municipalities: dict[str, dict] = {}
    villages: dict[str, int] = {}
    seen_at: dict[tuple[str, str], int] = {}
    population_columns = definition.population_columns()

    for offset, row in enumerate(reader, start=first + 2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            add(offset, "row", len(row), f"has {len(row)} cells but the header has {len(header)}",
                "check for a missing or extra comma (quote texts that contain commas)")
            continue
        record = {column: cell.strip() for column, cell in zip(header, row, strict=True)}
        names: dict[str, Text] = {}
        ok = True
        for level in LEVELS:
            code = record[f"{level}_code"]
            if not code:
                problem = "is empty" if level != "municipality" else "is empty: the village has no municipality"
                add(offset, f"{level}_code", code, problem, f"give the {level}'s code")
                ok = False
            elif not CHOICE_CODE_RE.match(code):
                add(offset, f"{level}_code", code, "is not a valid code",
                    "use letters, digits, '_' or '-' without spaces")
                ok = False
            empty = [lang for lang in ("ru", "ky", "en") if not record[f"{level}_{lang}"]]
            for lang in empty:
                add(offset, f"{level}_{lang}", "", f"the {level} name in {lang} is missing",
                    f"write the {level}'s name in {lang}")
                ok = False
            if not empty:
                names[level] = Text(record[f"{level}_ru"], record[f"{level}_ky"], record[f"{level}_en"])
        mtype = record["municipality_type"]
        if mtype not in TYPES:
            add(offset, "municipality_type", mtype, "is not a municipality type",
                f"use {' or '.join(TYPES)}")
            ok = False
        population: dict[tuple[str, str], int] = {}
        for column, sex, age in population_columns:
            value = record[column]
            try:
                number = int(value)
            except ValueError:
                add(offset, column, value, "is not a whole number",
                    "write the number of adults without spaces, dots or text (e.g. 412)")
                ok = False
                continue
            if number < 0:
                add(offset, column, value, "is negative", "write 0 or more")
                ok = False
            population[(sex, age)] = number
        if ok and sum(population.values()) == 0:
            add(offset, "population", 0, "the village has no adults",
                "give its adult population, or remove the row")
            ok = False
        if not ok:
            continue
        o, r, m, v = (record[f"{level}_code"] for level in LEVELS)
        # a code must always mean the same thing
        for level, code, parent in (("oblast", o, None), ("rayon", r, o), ("municipality", m, r)):
            key = (level, code)
            signature = (names[level], parent, mtype if level == "municipality" else None,
                         record["features"] if level == "municipality" else None)
            if key in seen_at:
                before_line, before = seen_at[key]
                if before != signature:
                    add(offset, f"{level}_code", code,
                        f"is described differently than at line {before_line} (name, parent, "
                        "type or features)", f"make every row of {level} {code} say the same")
                    ok = False
            else:
                seen_at[key] = (offset, signature)
        if v in villages:
            add(offset, "village_code", v, f"duplicate village code (also at line {villages[v]})",
                "give every village its own code")
            ok = False
        if not ok:
            continue
        villages[v] = offset
        oblasts.setdefault(o, Oblast(o, names["oblast"]))
        rayons.setdefault(r, Rayon(r, names["rayon"], o))
        entry = municipalities.setdefault(m, {
            "name": names["municipality"], "rayon": r, "type": mtype,
            "features": frozenset(record["features"].split()), "villages": []})
        entry["villages"].append(Village(v, names["village"], m, population))

    if not municipalities and not issues:
        add(first + 1, "rows", 0, "the file lists no village", "add one row per village")

    team_municipalities: dict[str, str] = {}
    for team in definition.sample_plan.teams:
        for code in team.municipalities:
            if code not in municipalities:
                add(None, "sample_plan.teams", code,
                    f"team {team.code} is assigned municipality {code}, which is not in {name}",
                    "fix the code in indicators.yaml or add the municipality's villages here")
            team_municipalities[code] = team.code
    for code in municipalities:
        if code not in team_municipalities:
            add(municipalities[code]["villages"][0] and villages[municipalities[code]["villages"][0].code],
                "municipality_code", code, "no team in indicators.yaml is assigned this municipality",
                "add it to a team's municipalities in sample_plan.teams")
    if issues:
        return None, issues
    return Geography(
        oblasts=oblasts,
        rayons=rayons,
        municipalities={
            code: Municipality(code, e["name"], e["rayon"], e["type"], e["features"], tuple(e["villages"]))
            for code, e in municipalities.items()
        },
    ), issues
