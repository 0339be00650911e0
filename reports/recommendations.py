"""Drafted recommendations per municipality × service, for a person to edit (DESIGN.md 5.10).

Each draft starts from what to do, chosen by the cell's quadrant (or by why it has no gap: nobody
rated the service, too small a base, no LSG assessment, too few indicators), then gives the
evidence a reader checks before signing it: the gap and whether it is established, the service's
rank among residents' priorities, its lowest-rated aspect, its weakest indicator, the focus
groups' strongest theme and the participants' own suggestion. So the text names the service's own
aspects and indicators and the groups' words, in the report's language (the participants'
suggestion stays as typed). Drafts of a municipality come ordered by importance to residents,
and every one carries the draft mark: it is never presented as final.

The gap report, the scorecards and the study report all take their drafts from
:func:`draft_recommendations`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from forms.definition import Text
from reports.mart_rows import Cell, IndicatorScore, ItemScore, Mention, Method, Theme
from reports.marts import Marts
from reports.texts import T, tr

SENTENCES: dict[str, Text] = {
    "mark": T("[ЧЕРНОВИК]", "[ДОЛБООР]", "[DRAFT]"),
    "action.fix_first": T(
        "Улучшить услугу «{service}» в первую очередь: довольных жителей мало (S {s}%), и "
        "показатели ОМСУ слабые (E {e}).",
        "«{service}» кызматын биринчи кезекте жакшыртуу: ыраазы тургундар аз (S {s}%), ЖӨБдүн "
        "көрсөткүчтөрү да начар (E {e}).",
        "Improve «{service}» first: few residents are satisfied (S {s}%) and the LSG's "
        "indicators are weak (E {e})."),
    "action.communicate": T(
        "Рассказать жителям, что делается по услуге «{service}»: показатели ОМСУ хорошие (E {e}), "
        "но довольных жителей мало (S {s}%); объяснить графики, результаты и куда обращаться с "
        "жалобами, проверить, что видят сами пользователи.",
        "«{service}» кызматы боюнча эмне жасалып жатканын тургундарга айтып берүү: ЖӨБдүн "
        "көрсөткүчтөрү жакшы (E {e}), бирок ыраазы тургундар аз (S {s}%); графиктерди, "
        "натыйжаларды жана даттанууну кайда берүүнү түшүндүрүү, колдонуучулар өздөрү эмнени "
        "көрүп жатканын текшерүү.",
        "Tell residents what is done in «{service}»: the LSG's indicators are good (E {e}) but "
        "few residents are satisfied (S {s}%); explain schedules, results and where to "
        "complain, and check what users themselves experience."),
    "action.expectation_risk": T(
        "Укрепить услугу «{service}», пока ожидания жителей не обернулись разочарованием: "
        "жители довольны (S {s}%), хотя показатели ОМСУ слабые (E {e}); проверить полноту "
        "данных ОМСУ и запланировать улучшения.",
        "«{service}» кызматын тургундардын күтүүлөрү көңүл калууга айланганга чейин чыңдоо: "
        "тургундар ыраазы (S {s}%), бирок ЖӨБдүн көрсөткүчтөрү начар (E {e}); ЖӨБдүн "
        "маалыматтарынын толуктугун текшерүү жана жакшыртууларды пландоо.",
        "Strengthen «{service}» before residents' expectations turn to disappointment: "
        "residents are satisfied (S {s}%) although the LSG's indicators are weak (E {e}); check "
        "that the LSG's records are complete and plan improvements."),
    "action.maintain": T(
        "Сохранить уровень услуги «{service}»: жители довольны (S {s}%), и показатели ОМСУ "
        "хорошие (E {e}); описать, что работает, чтобы это сохранить.",
        "«{service}» кызматынын деңгээлин сактоо: тургундар ыраазы (S {s}%), ЖӨБдүн "
        "көрсөткүчтөрү да жакшы (E {e}); эмне иштеп жатканын жазып, аны сактоо.",
        "Keep «{service}» at its level: residents are satisfied (S {s}%) and the LSG's "
        "indicators are good (E {e}); write down what works so that it is kept."),
    "action.no_users": T(
        "Проверить, оказывается ли услуга «{service}» и пользуются ли ею: никто из опрошенных "
        "её не оценил (n = 0).",
        "«{service}» кызматы көрсөтүлөбү жана аны колдонушабы, текшерүү: респонденттердин эч "
        "кимиси аны баалаган жок (n = 0).",
        "Check whether «{service}» is provided and used: no respondent rated it (n = 0)."),
    "action.suppressed": T(
        "Собрать больше мнений об услуге «{service}»: её оценили слишком мало опрошенных "
        "(n = {n}, нужно не меньше {k}); обсудить в фокус-группах или в следующем раунде.",
        "«{service}» кызматы тууралуу көбүрөөк пикир чогултуу: аны өтө аз респондент баалады "
        "(n = {n}, кеминде {k} керек); фокус-топтордо же кийинки раундда талкуулоо.",
        "Gather more views on «{service}»: too few respondents rated it (n = {n}, at least {k} "
        "needed); take it up in the focus groups or the next round."),
    "action.not_assessed": T(
        "Провести оценку эффективности ОМСУ: без неё работу по услуге «{service}» нельзя "
        "сравнить с мнением жителей (S {s}%).",
        "ЖӨБдүн натыйжалуулугун баалоону өткөрүү: ансыз «{service}» кызматы боюнча ишти "
        "тургундардын пикири (S {s}%) менен салыштырууга болбойт.",
        "Carry out the LSG effectiveness assessment: without it the LSG's work on «{service}» "
        "cannot be set against residents' view (S {s}%)."),
    "action.coverage": T(
        "Дополнить данные ОМСУ по услуге «{service}»: есть {present} из {expected} индикаторов "
        "(нужно не меньше {min}%), поэтому E и разрыв не посчитаны.",
        "«{service}» кызматы боюнча ЖӨБдүн маалыматтарын толуктоо: {expected} индикатордун "
        "{present} гана бар (кеминде {min}% керек), ошондуктан E жана ажырым эсептелген жок.",
        "Complete the LSG's records for «{service}»: {present} of {expected} indicators were "
        "reported (at least {min}% needed), so E and the gap are not computed."),
    "gap.perception_exceeds": T(
        "Жители оценивают услугу на {g} пунктов выше, чем показывают данные ОМСУ{est}.",
        "Тургундар кызматты ЖӨБдүн маалыматтарынан {g} пунктка жогору баалашат{est}.",
        "Residents rate the service {g} points above what the LSG's records show{est}."),
    "gap.performance_underrecognised": T(
        "Жители оценивают услугу на {g} пунктов ниже, чем показывают данные ОМСУ{est}.",
        "Тургундар кызматты ЖӨБдүн маалыматтарынан {g} пунктка төмөн баалашат{est}.",
        "Residents rate the service {g} points below what the LSG's records show{est}."),
    "gap.aligned": T(
        "Мнение жителей и данные ОМСУ совпадают (разница не больше {t} пунктов).",
        "Тургундардын пикири менен ЖӨБдүн маалыматтары дал келет (айырма {t} пункттан ашпайт).",
        "Residents' view and the LSG's records agree (within {t} points)."),
    "est.yes": T(" (разрыв доказан)", " (ажырым далилденген)", " (the gap is established)"),
    "est.no": T(" (но интервал содержит 0: разрыв не доказан)",
                " (бирок интервал 0ду камтыйт: ажырым далилденген эмес)",
                " (but its interval includes 0: not established)"),
    "unreliable": T("База мала (n = {n}): читать с осторожностью.",
                    "База кичине (n = {n}): этияттык менен окуу керек.",
                    "The base is small (n = {n}): read with caution."),
    "importance": T(
        "Для жителей это приоритет {rank} из {total}: {imp}% называют услугу среди самых важных.",
        "Тургундар үчүн бул {total} ичинен {rank}-артыкчылык: {imp}% кызматты эң "
        "маанилүүлөрдүн катарына кошот.",
        "Priority {rank} of {total} for residents: {imp}% name it among their most important "
        "services."),
    "item": T("Меньше всего жители удовлетворены {item} ({share}% довольных, n = {n}).",
              "Тургундар эң аз канааттанган жагы: {item} ({share}% ыраазы, n = {n}).",
              "Residents are least satisfied with the {item} ({share}% satisfied, n = {n})."),
    "indicator": T("Самый слабый индикатор: {indicator} — {value} {unit} (порог {floor}, цель {target}).",
                   "Эң начар индикатор: {indicator} — {value} {unit} (босого {floor}, максат {target}).",
                   "Weakest indicator: {indicator}: {value} {unit} (floor {floor}, target {target})."),
    "indicator_yes_no": T("Самый слабый индикатор: {indicator} — {value}.",
                          "Эң начар индикатор: {indicator} — {value}.",
                          "Weakest indicator: {indicator}: {value}."),
    "theme": T("Фокус-группы ({group}): тема «{theme}» (тональность: {sentiment}); сессий: {k} "
               "из {h}, согласились: {a} из {p} участников.",
               "Фокус-топтор ({group}): «{theme}» темасы (маанай: {sentiment}); жыйындар: {h} "
               "ичинен {k}, макул болгондор: {p} катышуучунун {a}.",
               "Focus groups ({group}): theme «{theme}» (sentiment: {sentiment}); raised in {k} "
               "of {h} sessions, {a} of {p} participants agreed."),
    "suggestion": T("Предложение участников: „{text}“", "Катышуучулардын сунушу: „{text}“",
                    "Participants suggested: “{text}”"),
}

SENTIMENT_ORDER = {"negative": 0, "mixed": 1, "positive": 2}


@dataclass(frozen=True)
class Recommendation:
    """A drafted recommendation: what to do (``action``) and why (``evidence``), never final."""

    round: str
    municipality_code: str
    service_code: str
    service: str
    rank: int | None  # 1: the service residents name most often among their priorities
    importance: float | None
    quadrant: str | None
    gap_status: str
    action: str
    evidence: tuple[str, ...]
    mark: str
    draft: bool = True

    @property
    def text(self) -> str:
        """The whole draft, with its mark, as one paragraph."""
        return " ".join((self.mark, self.action, *self.evidence))


def recommendations_for(marts: Marts, round_code: str,
                        cells: Iterable[Cell] | None = None) -> dict[str, list[Recommendation]]:
    """The drafts of every municipality of the round (municipality code -> drafts by importance);
    ``cells``: the round's cells when the caller has read them already."""
    return draft_recommendations(
        marts.cells(round_code) if cells is None else cells, marts.themes(round_code), marts.mentions(round_code),
        marts.item_scores(round_code), marts.indicator_scores(round_code), marts.method(),
        marts.lang, yes_no={c: marts.label("yes_no", c) or c for c in ("yes", "no")})


def draft_recommendations(cells: Iterable[Cell], themes: Iterable[Theme],
                          mentions: Iterable[Mention], items: Iterable[ItemScore],
                          indicators: Iterable[IndicatorScore], method: Method, lang: str,
                          yes_no: dict[str, str] | None = None) -> dict[str, list[Recommendation]]:
    """Drafts per municipality, each list ordered by importance (most important first; services
    without an importance last, in the study's order)."""
    by_cell_themes: dict[tuple[str, str], list[Theme]] = defaultdict(list)
    for t in themes:
        by_cell_themes[t.municipality_code, t.service_code].append(t)
    by_theme_mentions: dict[tuple[str, str, str, str], list[Mention]] = defaultdict(list)
    for m in mentions:
        by_theme_mentions[m.municipality_code, m.service_code, m.group_type, m.theme_code].append(m)
    by_cell_items: dict[tuple[str, str], list[ItemScore]] = defaultdict(list)
    for i in items:
        by_cell_items[i.municipality_code, i.service_code].append(i)
    by_cell_indicators: dict[tuple[str, str], list[IndicatorScore]] = defaultdict(list)
    for s in indicators:
        by_cell_indicators[s.municipality_code, s.service_code].append(s)
    by_municipality: dict[str, list[Cell]] = defaultdict(list)
    for c in cells:
        by_municipality[c.municipality_code].append(c)

    out: dict[str, list[Recommendation]] = {}
    for code, group in by_municipality.items():
        ordered = sorted(group, key=lambda c: (c.importance is None, -(c.importance or 0),
                                               c.service_order))
        ranks = {c.service_code: i for i, c in
                 enumerate((c for c in ordered if c.importance is not None), start=1)}
        drafts = []
        for c in ordered:
            key, rank = (c.municipality_code, c.service_code), ranks.get(c.service_code)
            evidence = _evidence(c, rank, len(ranks), method, lang, by_cell_items[key],
                                 by_cell_indicators[key], by_cell_themes[key], by_theme_mentions,
                                 yes_no or {})
            drafts.append(Recommendation(
                c.round, c.municipality_code, c.service_code, c.service, rank, c.importance,
                c.quadrant, c.gap_status, _action(c, method, lang), tuple(evidence),
                tr("mark", lang, SENTENCES)))
        out[code] = drafts
    return out


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _action(c: Cell, method: Method, lang: str) -> str:
    say = {"service": c.service, "s": _n(c.satisfaction), "e": _n(c.effectiveness)}
    if c.quadrant is not None:
        return tr(f"action.{c.quadrant}", lang, SENTENCES, **say)
    if c.n == 0:
        return tr("action.no_users", lang, SENTENCES, **say)
    if c.suppressed:
        return tr("action.suppressed", lang, SENTENCES, n=c.n, k=method.suppress_below, **say)
    if not c.assessed:
        return tr("action.not_assessed", lang, SENTENCES, **say)
    return tr("action.coverage", lang, SENTENCES, present=c.effectiveness_indicators or 0,
              expected=c.effectiveness_indicators_expected or 0,
              min=_n(100 * method.min_effectiveness_coverage), **say)


def _evidence(c: Cell, rank: int | None, ranked: int, method: Method, lang: str,
              items: list[ItemScore], indicators: list[IndicatorScore], themes: list[Theme],
              mentions: dict[tuple[str, str, str, str], list[Mention]],
              yes_no: dict[str, str]) -> list[str]:
    out = []
    if c.gap is not None:
        est = tr("est.yes" if c.gap_established else "est.no", lang, SENTENCES)
        out.append(tr(f"gap.{c.gap_status}", lang, SENTENCES, g=_n(abs(c.gap)), est=est,
                      t=_n(method.gap_threshold)))
    if c.unreliable:
        out.append(tr("unreliable", lang, SENTENCES, n=c.n))
    if rank is not None:
        out.append(tr("importance", lang, SENTENCES, rank=rank, total=ranked, imp=_n(c.importance)))
    rated = sorted((i for i in items if i.satisfaction is not None and i.n >= method.suppress_below),
                   key=lambda i: i.satisfaction)  # type: ignore[arg-type, return-value]
    if len(rated) >= 2 and rated[0].satisfaction < rated[-1].satisfaction:  # aspects differ
        worst = rated[0]
        out.append(tr("item", lang, SENTENCES, item=worst.text, share=_n(worst.satisfaction),
                      n=worst.n))
    scored = [s for s in indicators if s.score is not None and s.score < 100]
    if scored:
        weak = min(scored, key=lambda s: s.score)  # type: ignore[arg-type, return-value]
        if weak.answer == "yes_no":
            out.append(tr("indicator_yes_no", lang, SENTENCES, indicator=weak.text,
                          value=yes_no.get(weak.value or "", weak.value)))
        else:
            out.append(tr("indicator", lang, SENTENCES, indicator=weak.text, value=weak.value,
                          unit=weak.unit, floor=_number(weak.floor), target=_number(weak.target)))
    if themes:
        top = min(themes, key=lambda t: (SENTIMENT_ORDER.get(t.sentiment_code, 3),
                                         -t.participants_agreed, t.group_type, t.theme_code))
        out.append(tr("theme", lang, SENTENCES, group=top.group, theme=top.theme,
                      sentiment=top.sentiment.lower(), k=top.sessions, h=top.sessions_held,
                      a=top.participants_agreed, p=top.participants_present))
        said = [m for m in mentions[c.municipality_code, c.service_code, top.group_type,
                                    top.theme_code]
                if m.sentiment_code == top.sentiment_code and (m.recommendation or "").strip()]
        if said:
            out.append(tr("suggestion", lang, SENTENCES, text=said[0].recommendation.strip()))
    return out


def _number(value: float) -> str:
    return f"{value:g}"
