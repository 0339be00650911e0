"""The answerable questions of an XForm, and how many of them a set of filled instances answers.

A question is answerable when the body has a control for it (input, select, select1, upload,
range, odk:rank, trigger) and its bind is neither read-only (notes) nor calculated. Paths are
generic (no repeat positions), e.g. ``/data/main/members/member_name``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Question", "answerable_questions", "answered_paths", "answered_share"]

XF = "{http://www.w3.org/2002/xforms}"
ODK = "{http://www.opendatakit.org/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
CONTROLS = {
    f"{XF}input": "input",
    f"{XF}select1": "select_one",
    f"{XF}select": "select_multiple",
    f"{XF}upload": "upload",
    f"{XF}range": "range",
    f"{XF}trigger": "trigger",
    f"{ODK}rank": "rank",
}
TRUE = {"true()", "true"}


@dataclass(frozen=True)
class Question:
    """One answerable question of a form."""

    name: str
    path: str
    control: str
    type: str
    in_repeat: bool
    required: bool
    relevant: str | None


def _norm(ref: str) -> str:
    return "/" + "/".join(part for part in ref.strip().split("/") if part)


def answerable_questions(xform: Path | str | bytes) -> list[Question]:
    """List the answerable questions of an XForm (a path, or its XML as bytes/str)."""
    root = ET.parse(xform).getroot() if isinstance(xform, Path) else ET.fromstring(xform)
    model = root.find(f"{H}head/{XF}model")
    if model is None:
        raise ValueError("not an XForm: no h:head/model element")
    binds = {_norm(b.get("nodeset", "")): b for b in model.iter(f"{XF}bind")}
    repeats = {_norm(r.get("nodeset", "")) for r in root.iter(f"{XF}repeat")}
    body = root.find(f"{H}body")
    out: list[Question] = []
    seen: set[str] = set()
    for el in body.iter() if body is not None else ():
        control = CONTROLS.get(el.tag)
        ref = el.get("ref") or el.get("bind")
        if control is None or not ref:
            continue
        path = _norm(ref)
        bind = binds.get(path)
        attrs = bind.attrib if bind is not None else {}
        if attrs.get("readonly", "").strip() in TRUE or attrs.get("calculate"):
            continue
        if path in seen:
            continue
        seen.add(path)
        in_repeat = any(path.startswith(r + "/") for r in repeats)
        out.append(
            Question(
                name=path.rsplit("/", 1)[-1],
                path=path,
                control=control,
                type=attrs.get("type", "string"),
                in_repeat=in_repeat,
                required=attrs.get("required", "").strip() in TRUE,
                relevant=attrs.get("relevant"),
            )
        )
    return out


def answered_paths(instance_xml: bytes | str) -> set[str]:
    """Generic paths of the elements that hold a non-empty value in one instance."""
    root = ET.fromstring(instance_xml)
    found: set[str] = set()

    def visit(el: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{el.tag.rsplit('}', 1)[-1]}"
        children = list(el)
        if not children and (el.text or "").strip():
            found.add(path)
        for child in children:
            visit(child, path)

    visit(root, "")
    return found


def answered_share(xform: Path | str | bytes, instances: Iterable[bytes | str]) -> float:
    """Share of the answerable questions that hold a value in at least one of ``instances``."""
    questions = answerable_questions(xform)
    if not questions:
        return 1.0
    wanted = {q.path for q in questions}
    hit: set[str] = set()
    for xml in instances:
        hit |= answered_paths(xml) & wanted
        if hit == wanted:
            break
    return len(hit) / len(wanted)
