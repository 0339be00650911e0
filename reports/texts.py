"""Words every deliverable shares, in Russian, Kyrgyz and English.

Each workbook module keeps the texts only it uses beside it (a dict of :class:`Text`); these are
the ones several share: column headers of the gap tables, the statuses and quadrants, the
footnotes for suppressed and unreliable values, the draft mark of recommendations. ``tr`` looks a
key up in one or more dicts; a missing key is a bug (KeyError), never a blank cell.
"""

from __future__ import annotations

from collections.abc import Mapping

from forms.definition import Text

LANGUAGES = ("ru", "ky", "en")


def T(ru: str, ky: str, en: str) -> Text:  # noqa: N802 - reads as a literal
    return Text(ru, ky, en)


COMMON: dict[str, Text] = {
    # headers
    "round": T("Раунд", "Раунд", "Round"),
    "oblast": T("Область", "Облус", "Oblast"),
    "rayon": T("Район", "Район", "Rayon"),
    "municipality": T("Муниципалитет", "Муниципалитет", "Municipality"),
    "municipality_code": T("Код муниципалитета", "Муниципалитеттин коду", "Municipality code"),
    "village": T("Село", "Айыл", "Village"),
    "service": T("Услуга", "Кызмат", "Service"),
    "service_code": T("Код услуги", "Кызматтын коду", "Service code"),
    "n": T("База (n)", "База (n)", "Base (n)"),
    "satisfaction": T("Удовлетворённость, %", "Канааттануу, %", "Satisfaction, %"),
    "ci_low": T("95% ДИ, от", "95% ИИ, төмөнкү", "95% CI, low"),
    "ci_high": T("95% ДИ, до", "95% ИИ, жогорку", "95% CI, high"),
    "mean_index": T("Индекс среднего (0–100)", "Орточо индекс (0–100)", "Mean index (0–100)"),
    "importance": T("Важность, %", "Маанилүүлүк, %", "Importance, %"),
    "effectiveness": T("Эффективность ОМСУ (0–100)", "ЖӨБ натыйжалуулугу (0–100)",
                       "LSG effectiveness (0–100)"),
    "coverage": T("Покрытие индикаторами, %", "Индикаторлор менен камтуу, %",
                  "Indicator coverage, %"),
    "gap": T("Разрыв S − E", "Ажырым S − E", "Gap S − E"),
    "gap_ci": T("95% ДИ разрыва", "Ажырымдын 95% ИИ", "Gap 95% CI"),
    "status": T("Статус разрыва", "Ажырымдын абалы", "Gap status"),
    "established": T("Разрыв доказан", "Ажырым далилденген", "Gap established"),
    "quadrant": T("Квадрант", "Квадрант", "Quadrant"),
    "recommendation": T("Рекомендация (черновик)", "Сунуш (долбоор)", "Recommendation (draft)"),
    "yes": T("да", "ооба", "yes"),
    "no": T("нет", "жок", "no"),
    # statuses and quadrants
    "status.aligned": T("Совпадает", "Дал келет", "Aligned"),
    "status.perception_exceeds": T("Восприятие выше работы", "Кабыл алуу иштен жогору",
                                   "Perception exceeds performance"),
    "status.performance_underrecognised": T("Работа недооценена", "Иш бааланбай калган",
                                            "Performance under-recognised"),
    "status.insufficient_data": T("Недостаточно данных", "Маалымат жетишсиз", "Insufficient data"),
    "quadrant.maintain": T("Поддерживать", "Колдоо", "Maintain"),
    "quadrant.communicate": T("Информировать жителей", "Тургундарга маалымдоо", "Communicate"),
    "quadrant.expectation_risk": T("Риск завышенных ожиданий", "Ашыкча күтүү коркунучу",
                                   "Expectation risk"),
    "quadrant.fix_first": T("Исправлять в первую очередь", "Биринчи кезекте оңдоо", "Fix first"),
    # marks and footnotes
    "suppressed_note": T(
        "* — база меньше {n} интервью: значение не показывается.",
        "* — база {n} интервьюдан аз: маани көрсөтүлбөйт.",
        "* — base below {n} interviews: the value is not shown."),
    "unreliable_note": T(
        "(…) — база от {low} до {high} интервью: значение ненадёжно, используйте с осторожностью.",
        "(…) — база {low}дөн {high}гө чейин интервью: маани ишенимсиз, этият колдонуңуз.",
        "(…) — base of {low} to {high} interviews: unreliable, use with caution."),
    "base_note": T("База (n) — число опрошенных, ответивших на вопросы об услуге (невзвешенно).",
                   "База (n) — кызмат тууралуу суроолорго жооп бергендердин саны (салмаксыз).",
                   "Base (n) — respondents who answered about the service (unweighted)."),
    "draft": T("ЧЕРНОВИК: текст подготовлен автоматически и должен быть отредактирован экспертом.",
               "ДОЛБООР: текст автоматтык түрдө даярдалган, эксперт түзөтүшү керек.",
               "DRAFT: drafted automatically, for an expert to edit before use."),
    "generated": T("Подготовлено Aimak {when}", "Aimak тарабынан даярдалды {when}",
                   "Prepared by Aimak {when}"),
    # why a submission is left out of the scores or flagged (exclusions.reason, quality rules)
    "reason.not_approved": T("Отклонено супервайзером", "Супервайзер четке каккан",
                             "Rejected by a supervisor"),
    "reason.no_consent": T("Нет согласия на интервью", "Интервьюга макулдук жок", "No consent"),
    "reason.outside_geography": T("Место вне географии исследования",
                                  "Жер изилдөөнүн географиясынан тышкары",
                                  "Place outside the study's geography"),
    "reason.no_profile": T("Не указан пол или возраст", "Жынысы же жашы көрсөтүлгөн эмес",
                           "Sex or age group missing"),
    "reason.duplicate_instance": T("Повторная копия анкеты", "Анкетанын кайталанган көчүрмөсү",
                                   "Second copy of a submission"),
    "reason.outside_window": T("Дата вне периода полевых работ", "Күнү талаа иштеринин мөөнөтүнөн тышкары",
                               "Date outside the fieldwork window"),
    "reason.too_short": T("Слишком короткое интервью", "Өтө кыска интервью", "Interview too short"),
    "reason.straight_lining": T("Одинаковые ответы подряд", "Катары менен бирдей жооптор",
                                "Same answer throughout (straight-lining)"),
    "reason.gps_missing": T("Нет GPS-координат", "GPS координаттары жок", "No GPS location"),
    "reason.gps_far": T("GPS далеко от села", "GPS айылдан алыс", "GPS far from the village"),
    "reason.enumerator_outlier": T("Ответы интервьюера далеки от коллег",
                                   "Интервьюердин жооптору кесиптештерден алыс",
                                   "Enumerator's answers far from peers'"),
    "reason.superseded_by_a_later_assessment": T("Заменено более поздней оценкой",
                                                 "Кийинки баалоо менен алмаштырылган",
                                                 "Replaced by a later assessment"),
}


def tr(key: str, lang: str, *extra: Mapping[str, Text], **values: object) -> str:
    """The text ``key`` in ``lang`` from ``extra`` dicts (first match) or :data:`COMMON`,
    with ``{placeholders}`` filled from ``values``."""
    for table in (*extra, COMMON):
        if key in table:
            text = table[key].get(lang)
            return text.format(**values) if values else text
    raise KeyError(f"no text {key!r}")


def label(text: Text | None, lang: str) -> str:
    """A definition's text (a service's name, an indicator's wording) in ``lang``."""
    return "" if text is None else text.get(lang)
