"""Typed objects of the study definition (indicators.yaml) and the geography (geography.csv)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Text:
    """A text a person reads, in Russian, Kyrgyz and English."""

    ru: str
    ky: str
    en: str

    def get(self, lang: str) -> str:
        return getattr(self, lang)

    def by_language(self) -> dict[str, str]:
        return {"ru": self.ru, "ky": self.ky, "en": self.en}

    def map(self, template: str) -> Text:
        """Return a new Text with ``template`` formatted around each language (``{}`` = text)."""
        return Text(template.format(self.ru), template.format(self.ky), template.format(self.en))


@dataclass(frozen=True)
class Choice:
    code: str
    label: Text
    missing: bool = False


@dataclass(frozen=True)
class Scale:
    name: str
    choices: tuple[Choice, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(choice.code for choice in self.choices)


@dataclass(frozen=True)
class Unit:
    code: str
    label: Text
    min: float | None
    max: float | None


@dataclass(frozen=True)
class SatisfactionItem:
    code: str
    text: Text
    weight: float


@dataclass(frozen=True)
class Indicator:
    code: str
    service: str
    text: Text
    unit: str
    answer: str  # integer | decimal | yes_no
    direction: str  # higher | lower
    floor: float
    target: float
    weight: float
    evidence: Text


@dataclass(frozen=True)
class AppliesTo:
    """Where a service is asked about: everywhere, by municipality type, or by a feature."""

    kind: str  # all | rural | town | feature
    feature: str | None = None

    def matches(self, municipality: Municipality) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "feature":
            return self.feature in municipality.features
        return municipality.type == self.kind

    def __str__(self) -> str:
        return f"feature:{self.feature}" if self.kind == "feature" else self.kind


@dataclass(frozen=True)
class Service:
    code: str
    core: bool
    applies_to: AppliesTo
    name: Text
    usage: Text
    items: tuple[SatisfactionItem, ...]
    indicators: tuple[Indicator, ...]

    @property
    def prefix(self) -> str:
        return self.code.lower()


@dataclass(frozen=True)
class AgeGroup:
    code: str
    min: int
    max: int
    label: Text


@dataclass(frozen=True)
class ProfileQuestion:
    code: str
    type: str
    min: int
    max: int
    text: Text
    constraint_message: Text


@dataclass(frozen=True)
class GovernanceItem:
    code: str
    scale: str
    text: Text


@dataclass(frozen=True)
class Importance:
    text: Text
    max_choices: int


@dataclass(frozen=True)
class Method:
    gap_threshold: float
    quadrant_cut: float
    suppress_below: int
    flag_below: int
    min_effectiveness_coverage: float
    headline_satisfaction: str  # top2box | mean_index
    top_box: tuple[str, ...]
    confidence_level: float
    weight_trim_low: float
    weight_trim_high: float
    # how villages enter the variance of S: 'clusters' (PSUs, as survey::svydesign(ids = ~village))
    # or 'strata' (every village interviewed: survey::svydesign(ids = ~1, strata = ~village))
    villages: str = "clusters"


# The data-quality rules of the citizen interviews, in the order an interview's reason for being
# left out is chosen (the most certain first: a copy of another submission, a date outside the
# fieldwork, then the interview's own signs, then its enumerator's).
QUALITY_RULES = ("duplicate_instance", "outside_window", "too_short", "straight_lining",
                 "gps_missing", "gps_far", "enumerator_outlier")
EXCLUSIONS = ("not_approved", "no_consent", *QUALITY_RULES)


@dataclass(frozen=True)
class Quality:
    """Data-quality rules of the citizen interviews and which of them leave an interview out of
    the scores (``exclude``: rule or reason -> bool; every one on unless the definition says so).
    The thresholds and why they are where they are: forms/README.md, section "quality"."""

    exclude: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(EXCLUSIONS, True))
    min_seconds_per_answer: float = 3.0
    straight_lining_share: float = 0.9
    straight_lining_min_blocks: int = 4
    gps_max_km: float = 5.0
    gps_min_interviews: int = 5  # located interviews a village needs for its centre
    enumerator_outlier_z: float = 3.5
    enumerator_min_interviews: int = 20
    fg_score_gap: float = 25.0  # points between a group's 0-100 score and the survey's
    time_zone: str = "Asia/Bishkek"


# The questions of the study's own forms that hold personal data: people's names, free text that
# may name people, a recording of their voices. The data workbooks (data_<form_id>.xlsx) leave
# them out unless asked; every location (geopoint, geotrace, geoshape) and phone identity
# (deviceid, phonenumber, subscriberid, simserial, username, email) of any form is left out
# too, whatever this says. The study's ``personal:`` section replaces a form's list.
PERSONAL: dict[str, tuple[str, ...]] = {
    "citizen_survey": (),  # its location (gps) and phone id (deviceid) go by their type
    "lsg_assessment": ("assessor", "lsg_informant", "comments"),
    "focus_group": ("fg_moderator", "fg_notetaker", "fg_quote_participant", "fg_observer_notes",
                    "fg_audio"),
}


@dataclass(frozen=True)
class Team:
    code: str
    supervisor: str
    enumerators: tuple[str, ...]
    municipalities: tuple[str, ...]


@dataclass(frozen=True)
class SamplePlanSettings:
    margin_of_error: float
    confidence_level: float
    design_effect: float
    min_interviews: int
    max_interviews: int
    fieldwork_days: int
    focus_groups: dict[str, int]
    teams: tuple[Team, ...]


@dataclass(frozen=True)
class Study:
    code: str
    round: str
    title: Text
    default_language: str
    fieldwork_start: str | None = None  # ISO dates of the round's fieldwork window, when agreed
    fieldwork_end: str | None = None


@dataclass(frozen=True)
class Definition:
    """The whole study definition, checked."""

    study: Study
    method: Method
    sample_plan: SamplePlanSettings
    sexes: tuple[Choice, ...]
    age_groups: tuple[AgeGroup, ...]
    scales: dict[str, Scale]
    units: dict[str, Unit]
    services: tuple[Service, ...]
    profile_questions: tuple[ProfileQuestion, ...]
    governance_items: tuple[GovernanceItem, ...]
    importance: Importance
    texts: dict[str, Text]
    quality: Quality = field(default_factory=Quality)
    # form id -> the questions (names) whose answers are personal data (see PERSONAL)
    personal: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(PERSONAL))

    def text(self, key: str) -> Text:
        return self.texts[key]

    def service(self, code: str) -> Service:
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(ind for service in self.services for ind in service.indicators)

    def population_columns(self) -> list[tuple[str, str, str]]:
        """(column, sex code, age-group code) for every population column of geography.csv."""
        return [
            (f"pop_{sex.code}_{group.code}", sex.code, group.code)
            for sex in self.sexes
            for group in self.age_groups
        ]


@dataclass(frozen=True)
class Oblast:
    code: str
    name: Text


@dataclass(frozen=True)
class Rayon:
    code: str
    name: Text
    oblast: str


@dataclass(frozen=True)
class Village:
    code: str
    name: Text
    municipality: str
    population: dict[tuple[str, str], int]  # (sex, age group) -> adults

    @property
    def adults(self) -> int:
        return sum(self.population.values())


@dataclass(frozen=True)
class Municipality:
    code: str
    name: Text
    rayon: str
    type: str  # rural | town
    features: frozenset[str]
    villages: tuple[Village, ...] = field(default=())

    @property
    def adults(self) -> int:
        return sum(village.adults for village in self.villages)


@dataclass(frozen=True)
class Geography:
    oblasts: dict[str, Oblast]
    rayons: dict[str, Rayon]
    municipalities: dict[str, Municipality]

    @property
    def villages(self) -> dict[str, Village]:
        return {v.code: v for m in self.municipalities.values() for v in m.villages}

