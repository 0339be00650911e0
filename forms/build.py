"""``aimak forms build``: check the study definition, write the three XLSForms and their XForms,
and validate each with pyxform and ODK Validate. A definition with mistakes writes nothing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aimak.errors import FormBuildError
from forms import LANGUAGES
from forms.citizen import citizen_survey
from forms.definition import Definition, Geography
from forms.focus_group import focus_group
from forms.geography import load_geography
from forms.loader import load_definition
from forms.lsg import lsg_assessment
from forms.sample_plan import SamplePlan, plan_sample, write_sample_plan
from forms.xlsform import FormSpec, write_xlsform

BUILDERS: tuple[Callable[[Definition, Geography], FormSpec], ...] = (
    citizen_survey, lsg_assessment, focus_group)
SAMPLE_PLAN_FILE = "sample_plan.csv"


@dataclass(frozen=True)
class BuiltForm:
    form_id: str
    version: str
    xlsx: Path
    xml: Path
    questions: int
    warnings: tuple[str, ...]


@dataclass
class BuildResult:
    forms: list[BuiltForm]
    sample_plan: SamplePlan
    sample_plan_file: Path
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        for form in self.forms:
            lines.append(f"wrote {form.xlsx} and {form.xml.name}: {form.questions} questions, "
                         f"languages {', '.join(LANGUAGES)}, version {form.version}")
        plan = self.sample_plan
        lines.append(f"wrote {self.sample_plan_file}: {plan.interviews} interviews in "
                     f"{len(plan.municipalities)} municipalities "
                     f"({', '.join(f'{c} {p.interviews}' for c, p in plan.municipalities.items())})")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"warning ({form.form_id}): {w}" for form in self.forms for w in form.warnings]
        return "\n".join(lines)


def load_study(definition_path: Path, geography_path: Path) -> tuple[Definition, Geography]:
    """Load and check both files of the study definition (raises DefinitionError)."""
    definition = load_definition(definition_path)
    geography = load_geography(geography_path, definition)
    return definition, geography


def generate_forms(definition: Definition, geography: Geography) -> list[FormSpec]:
    return [build(definition, geography) for build in BUILDERS]


def build_forms(definition_path: Path, geography_path: Path, out: Path,
                validate: bool = True) -> BuildResult:
    """Check the definition, write every form into ``out`` and validate it.

    Files are first written to a temporary folder and moved into ``out`` only when every form
    passed, so a failed build never leaves a half-written set behind.
    """
    definition, geography = load_study(definition_path, geography_path)
    warnings = study_warnings(definition, geography)
    specs = generate_forms(definition, geography)
    plan = plan_sample(definition, geography)
    out.mkdir(parents=True, exist_ok=True)
    built: list[BuiltForm] = []
    with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as tmp:
        staging = Path(tmp)
        for spec in specs:
            xlsx = staging / f"{spec.form_id}.xlsx"
            write_xlsform(spec, xlsx)
            xml, form_warnings = convert_xlsform(xlsx, validate=validate)
            (staging / f"{spec.form_id}.xml").write_text(xml, encoding="utf-8")
            built.append(BuiltForm(spec.form_id, spec.version, out / xlsx.name,
                                   out / f"{spec.form_id}.xml", len(spec.questions()),
                                   tuple(form_warnings)))
        write_sample_plan(plan, definition, geography, staging / SAMPLE_PLAN_FILE)
        for path in sorted(staging.iterdir()):
            shutil.move(str(path), out / path.name)
    return BuildResult(built, plan, out / SAMPLE_PLAN_FILE, warnings)


def convert_xlsform(xlsx: Path, validate: bool = True) -> tuple[str, list[str]]:
    """Convert with pyxform's Python API (the CLI exits 0 on failure); ODK Validate when asked."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    warnings: list[str] = []
    try:
        result = convert(xlsform=str(xlsx), warnings=warnings, validate=validate, pretty_print=True)
    except PyXFormError as err:
        raise FormBuildError(f"{xlsx.name}: pyxform rejected the generated form: {err}. This is a "
                             "bug in the form builder or a text it cannot carry; report it with "
                             "the definition.") from err
    except Exception as err:  # ODK Validate reports through various exception types
        text = str(err)
        if "java" in text.lower() and "not found" in text.lower():
            raise FormBuildError(
                "ODK Validate needs Java 17: install it (apt-get install openjdk-17-jre-headless) "
                "or run 'aimak forms build --no-validate' to skip the check.") from err
        raise FormBuildError(f"{xlsx.name}: ODK Validate rejected the form: {text}") from err
    return result.xform, warnings


def study_warnings(definition: Definition, geography: Geography) -> list[str]:
    """Things that are not wrong but probably not meant (e.g. a service that applies nowhere)."""
    warnings = []
    for service in definition.services:
        if not any(service.applies_to.matches(m) for m in geography.municipalities.values()):
            warnings.append(f"service {service.code} applies to no municipality "
                            f"(applies_to: {service.applies_to}); it is left out of the forms")
    return warnings
