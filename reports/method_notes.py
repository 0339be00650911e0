"""The scoring method in plain words, with the study's own settings filled in (``study_method``):
the gap report's method sheet, and the study report's method section, read it from here.

:func:`explain_method` gives (topic, explanation) pairs; :func:`method_settings` the settings of
``indicators.yaml`` the scores were made with, as (key, value) pairs.
"""

from __future__ import annotations

from forms.definition import Text
from reports.mart_rows import Method, ScaleLabel
from reports.texts import T, tr

TOPICS: dict[str, Text] = {
    "scale": T("Шкала", "Шкала", "Scale"),
    "satisfaction": T("Удовлетворённость S", "Канааттануу S", "Satisfaction S"),
    "weights": T("Веса", "Салмактар", "Weights"),
    "intervals": T("Интервалы", "Интервалдар", "Intervals"),
    "importance": T("Важность", "Маанилүүлүк", "Importance"),
    "effectiveness": T("Эффективность E", "Натыйжалуулук E", "Effectiveness E"),
    "gap": T("Разрыв и пороги", "Ажырым жана босоголор", "Gap and thresholds"),
    "quadrants": T("Квадранты", "Квадранттар", "Quadrants"),
    "suppression": T("Малые базы", "Кичине базалар", "Small bases"),
    "changes": T("Изменения между раундами", "Раунддардын ортосундагы өзгөрүүлөр", "Round changes"),
    "quality": T("Кто не входит в расчёт", "Эсепке кимдер кирбейт", "Who is left out"),
    "focus_groups": T("Фокус-группы", "Фокус-топтор", "Focus groups"),
    "recommendations": T("Рекомендации", "Сунуштар", "Recommendations"),
}

EXPLAIN: dict[str, Text] = {
    "scale": T(
        "Жители оценивают каждый аспект услуги по шкале от 1 до 5 ({scale}). Ответы {missing} не "
        "входят в базу: человек не пользуется услугой или не может её оценить.",
        "Тургундар кызматтын ар бир жагын 1ден 5ке чейинки шкала менен баалашат ({scale}). "
        "{missing} жооптору базага кирбейт: адам кызматты колдонбойт же баалай албайт.",
        "Residents rate each aspect of a service from 1 to 5 ({scale}). The answers {missing} "
        "are left out of the base: the person does not use the service or cannot judge it."),
    "satisfaction": T(
        "Удовлетворённость S — взвешенная доля пользователей, ответивших {top_box} («верхние две "
        "оценки»), в среднем по аспектам услуги, от 0 до 100. Рядом показан индекс среднего: "
        "(средняя оценка − 1) / 4 × 100. Основной показатель исследования: {headline}.",
        "Канааттануу S — {top_box} деп жооп берген колдонуучулардын салмактуу үлүшү («жогорку "
        "эки баа»), кызматтын жактары боюнча орточо, 0дөн 100гө чейин. Жанында орточо индекс "
        "көрсөтүлөт: (орточо баа − 1) / 4 × 100. Изилдөөнүн негизги көрсөткүчү: {headline}.",
        "Satisfaction S is the weighted share of users answering {top_box} (top-2-box), averaged "
        "over the service's aspects, 0 to 100. The mean index, (mean score − 1) / 4 × 100, is "
        "shown beside it. The study's headline measure: {headline}."),
    "headline.top2box": T("доля верхних двух оценок", "жогорку эки баанын үлүшү",
                          "the top-2-box share"),
    "headline.mean_index": T("индекс среднего", "орточо индекс", "the mean index"),
    "weights": T(
        "Каждое интервью получает вес: взрослые жители села / интервью в селе; затем веса "
        "подгоняются (рейкинг) под население муниципалитета по полу и возрасту, ограничиваются "
        "пределами от {low} до {high} среднего веса, и рейкинг повторяется. Так выборка "
        "представляет взрослое население муниципалитета.",
        "Ар бир интервью салмак алат: айылдын чоң кишилери / айылдагы интервьюлар; андан кийин "
        "салмактар муниципалитеттин калкына жынысы жана жашы боюнча ылайыкташтырылат (рейкинг), "
        "орточо салмактын {low}дөн {high}гө чейинки чегинде кесилет жана рейкинг кайталанат. "
        "Ошентип тандоо муниципалитеттин чоң кишилерин чагылдырат.",
        "Each interview is weighted: the village's adults / interviews in the village; the "
        "weights are then raked to the municipality's population by sex and age group, trimmed "
        "to {low}–{high} × the mean weight and raked again, so that the sample stands for the "
        "municipality's adults."),
    "intervals.clusters": T(
        "{level}% доверительный интервал S — интервал Уилсона на эффективной базе (n / эффект "
        "дизайна). Эффект дизайна считается по данным: сёла — кластеры (первичные единицы "
        "выборки), t-распределение с числом сёл − 1 степенями свободы; если село одно, сёла "
        "считаются стратами. Чем шире интервал, тем меньше уверенность.",
        "S'тин {level}% ишеним интервалы — эффективдүү базадагы (n / дизайн эффектиси) Уилсон "
        "интервалы. Дизайн эффектиси маалыматтан эсептелет: айылдар — кластерлер (тандоонун "
        "баштапкы бирдиктери), айылдар − 1 эркиндик даражасы менен t-бөлүштүрүү; айыл бирөө "
        "болсо, айылдар страта катары эсептелет. Интервал канча кенен болсо, ишеним ошончо аз.",
        "The {level}% interval of S is Wilson's on the effective base (n / design effect). The "
        "design effect comes from the data with villages as clusters (primary sampling units), "
        "Student's t on villages − 1 degrees of freedom; with a single village, villages are "
        "taken as strata. The wider the interval, the less certain the value."),
    "intervals.strata": T(
        "{level}% доверительный интервал S — интервал Уилсона на эффективной базе (n / эффект "
        "дизайна). Эффект дизайна считается по данным: сёла — страты (опрошены все сёла), "
        "опрошенные — единицы выборки, с n − число сёл степенями свободы; различия между сёлами "
        "тогда не считаются ошибкой выборки. Чем шире интервал, тем меньше уверенность.",
        "S'тин {level}% ишеним интервалы — эффективдүү базадагы (n / дизайн эффектиси) Уилсон "
        "интервалы. Дизайн эффектиси маалыматтан эсептелет: айылдар — страталар (бардык "
        "айылдар сурамжыланган), респонденттер — тандоонун бирдиктери, n − айылдардын саны "
        "эркиндик даражасы менен; айылдардын ортосундагы айырмачылыктар тандоо катасы катары "
        "эсептелбейт. Интервал канча кенен болсо, ишеним ошончо аз.",
        "The {level}% interval of S is Wilson's on the effective base (n / design effect). The "
        "design effect comes from the data with villages as strata (every village interviewed) "
        "and respondents as the sampling units, on n − villages degrees of freedom; differences "
        "between villages are then not sampling error. The wider the interval, the less certain "
        "the value."),
    "importance": T(
        "Важность — взвешенная доля опрошенных, назвавших услугу среди {max} самых важных для "
        "них. Она задаёт порядок действий.",
        "Маанилүүлүк — кызматты өздөрү үчүн эң маанилүү {max} кызматтын катарына кошкон "
        "респонденттердин салмактуу үлүшү. Ал иш-аракеттердин тартибин аныктайт.",
        "Importance is the weighted share of respondents naming the service among their {max} "
        "priorities; it orders the actions."),
    "effectiveness": T(
        "Эффективность E — по оценке ОМСУ (документы и отчёты). Каждый индикатор переводится в "
        "баллы 0–100 между порогом (0) и целью (100), в любом направлении; да/нет — 100 или 0 "
        "(лист индикаторов). E — взвешенное среднее баллов. Если в оценке меньше {min}% "
        "индикаторов услуги, E не считается. Значения без подтверждающего документа "
        "учитываются и отмечаются.",
        "Натыйжалуулук E — ЖӨБдү баалоо боюнча (документтер жана отчеттор). Ар бир индикатор "
        "босого (0) менен максаттын (100) ортосунда 0–100 упайга которулат, ар кандай багытта; "
        "ооба/жок — 100 же 0 (индикаторлор барагы). E — упайлардын салмактуу орточосу. "
        "Баалоодо кызматтын индикаторлорунун {min}%ынан азы болсо, E эсептелбейт. Документ "
        "менен тастыкталбаган маанилер эсепке алынат жана белгиленет.",
        "Effectiveness E comes from the LSG assessment (documents and records). Each indicator "
        "is scored 0–100 between its floor (0) and target (100), in either direction; yes/no "
        "scores 100 or 0 (the indicators sheet). E is the weighted mean of the scores. With "
        "fewer than {min}% of the service's indicators, E is not computed. Values without a "
        "checked document are used and marked."),
    "gap": T(
        "Разрыв G = S − E в пунктах. |G| ≤ {t}: совпадает; G > {t}: восприятие выше работы "
        "(жители довольны больше, чем показывают данные); G < −{t}: работа недооценена (данные "
        "лучше мнения жителей). Интервал разрыва — интервал S, сдвинутый на E (у E нет ошибки "
        "выборки). Разрыв «доказан», когда его интервал не содержит 0.",
        "Ажырым G = S − E пункттарда. |G| ≤ {t}: дал келет; G > {t}: кабыл алуу иштен жогору "
        "(тургундар маалыматта көрсөтүлгөндөн көбүрөөк ыраазы); G < −{t}: иш бааланбай калган "
        "(маалыматтар тургундардын пикиринен жакшы). Ажырымдын интервалы — E'ге жылдырылган "
        "S'тин интервалы (E'де тандоо катасы жок). Интервалы 0ду камтыбаса, ажырым «далилденген».",
        "The gap G = S − E, in points. |G| ≤ {t}: aligned; G > {t}: perception exceeds "
        "performance (residents are more satisfied than the records show); G < −{t}: "
        "performance under-recognised (the records are better than residents' view). The gap's "
        "interval is S's shifted by E (E has no sampling error). A gap is established when its "
        "interval excludes 0."),
    "quadrants": T(
        "Квадранты по S и E с границей {cut}: «поддерживать» (оба высокие), «информировать "
        "жителей» (E высокая, S низкая), «риск завышенных ожиданий» (E низкая, S высокая), "
        "«исправлять в первую очередь» (оба низкие). Внутри квадранта порядок задаёт важность.",
        "{cut} чеги менен S жана E боюнча квадранттар: «колдоо» (экөө тең жогору), "
        "«тургундарга маалымдоо» (E жогору, S төмөн), «ашыкча күтүү коркунучу» (E төмөн, S "
        "жогору), «биринчи кезекте оңдоо» (экөө тең төмөн). Квадранттын ичинде тартипти "
        "маанилүүлүк аныктайт.",
        "Quadrants on S and E cut at {cut}: maintain (both high), communicate (E high, S low), "
        "expectation risk (E low, S high), fix first (both low). Importance orders the actions "
        "within a quadrant."),
    "suppression": T(
        "Малые базы: при n меньше {k} значение не показывается (*); при n от {k} до {f1} оно "
        "показано в скобках — ненадёжно. Рядом с каждой долей стоит её база n.",
        "Кичине базалар: n {k}дан аз болсо, маани көрсөтүлбөйт (*); n {k}дан {f1}ге чейин "
        "болсо, ал кашаада көрсөтүлөт — ишенимсиз. Ар бир үлүштүн жанында анын n базасы турат.",
        "Small bases: with n below {k} the value is not shown (*); with n from {k} to {f1} it "
        "is shown in brackets, unreliable. Every share has its base n beside it."),
    "changes": T(
        "Изменения между раундами: разница S с {how}; изменение значимо, если после поправки "
        "Бенджамини–Хохберга по всем сравниваемым ячейкам p не больше {alpha}. Если в раундах "
        "опрошены те же сёла, раунды не независимы, и вывод осторожный.",
        "Раунддардын ортосундагы өзгөрүүлөр: S'тин айырмасы {how}; бардык салыштырылган "
        "уячалар боюнча Бенджамини–Хохберг түзөтүүсүнөн кийин p {alpha}дан ашпаса, өзгөрүү "
        "маанилүү. Раунддарда ошол эле айылдар сурамжыланса, раунддар көз карандысыз эмес, "
        "жыйынтык этияттык менен чыгарылат.",
        "Changes between rounds: the difference in S with {how}; a change is significant when "
        "its p-value after Benjamini–Hochberg over all cells compared is at most {alpha}. When "
        "the rounds interviewed the same villages they are not independent: read with care."),
    "how.top2box": T("интервалом Ньюкомба на эффективных базах обоих раундов",
                     "эки раунддун эффективдүү базаларындагы Ньюкомб интервалы менен",
                     "Newcombe's interval on both rounds' effective bases"),
    "how.mean_index": T("нормальным интервалом разности индексов среднего",
                        "орточо индекстердин айырмасынын нормалдуу интервалы менен",
                        "the normal interval of the difference of the mean indices"),
    "quality": T(
        "Не входят в расчёт: интервью, отклонённые супервайзером ({approved}), без согласия "
        "({consent}), вне географии исследования или без пола и возраста, и интервью, "
        "нарушившие правило качества с включённым исключением: {rules}. Остальные правила "
        "только отмечают интервью: {flag_only}.",
        "Эсепке кирбейт: супервайзер четке каккан интервьюлар ({approved}), макулдуксуз "
        "({consent}), изилдөөнүн географиясынан тышкары же жынысы жана жашы жок интервьюлар, "
        "ошондой эле четтетүү күйгүзүлгөн сапат эрежесин бузган интервьюлар: {rules}. Калган "
        "эрежелер интервьюну белгилейт гана: {flag_only}.",
        "Left out of the scores: interviews rejected by a supervisor ({approved}), without "
        "consent ({consent}), outside the study's geography or without sex and age group, and "
        "those breaking a quality rule whose exclusion is on: {rules}. The other rules only "
        "flag: {flag_only}."),
    "excluded": T("исключаются", "четтетилет", "left out"),
    "kept": T("не исключаются", "четтетилбейт", "kept"),
    "none": T("нет", "жок", "none"),
    "focus_groups": T(
        "Темы фокус-групп считаются в сессиях и участниках, а не в процентах: несколько сессий "
        "не дают оснований для долей. Оценки групп (1–5) сравниваются с опросом и оценкой ОМСУ; "
        "разница больше {gap} пунктов — расхождение.",
        "Фокус-топтордун темалары пайыз менен эмес, жыйындар жана катышуучулар менен саналат: "
        "бир нече жыйын үлүш үчүн негиз бербейт. Топтордун баалары (1–5) сурамжылоо жана ЖӨБдү "
        "баалоо менен салыштырылат; {gap} пункттан ашкан айырма — келишпестик.",
        "Focus-group themes are counted in sessions and participants, never as percentages: a "
        "handful of sessions supports no percentage. The groups' own 1–5 scores are set beside "
        "the survey and the assessment; more than {gap} points apart is a disagreement."),
    "recommendations": T(
        "Рекомендации — черновики, составленные автоматически по квадранту, разрыву, важности, "
        "самому слабому аспекту и индикатору и темам фокус-групп. Их редактирует эксперт; как "
        "окончательные они не представляются.",
        "Сунуштар — квадрант, ажырым, маанилүүлүк, эң начар жагы жана индикатору, "
        "фокус-топтордун темалары боюнча автоматтык түрдө түзүлгөн долбоорлор. Аларды эксперт "
        "түзөтөт; алар акыркы катары берилбейт.",
        "Recommendations are drafts composed automatically from the quadrant, the gap, "
        "importance, the weakest aspect and indicator and the focus-group themes. An expert "
        "edits them; they are never presented as final."),
}

# what each quality rule checks, with its threshold (the method sheet lists them under 'quality')
RULES: dict[str, Text] = {
    "duplicate_instance": T(
        "одна и та же анкета пришла на сервер несколько раз: все копии после первой.",
        "бир эле анкета серверге бир нече жолу келген: биринчисинен кийинки бардык көчүрмөлөр.",
        "the same instance reached the server more than once: every copy after the first."),
    "outside_window": T("дата интервью вне периода полевых работ ({start} — {end}).",
                        "интервьюнун күнү талаа иштеринин мөөнөтүнөн тышкары ({start} — {end}).",
                        "interview date outside the fieldwork window ({start} to {end})."),
    "too_short": T("меньше {seconds} с на каждый заданный вопрос.",
                   "ар бир берилген суроого {seconds} секунддан аз.",
                   "less than {seconds} s for each question asked."),
    "straight_lining": T(
        "не меньше {share}% блоков услуг (из минимум {blocks}) отвечены одним кодом.",
        "кызмат блокторунун кеминде {share}%ы (жок дегенде {blocks} блоктон) бир эле код менен "
        "жооп берилген.",
        "at least {share}% of the service blocks (of at least {blocks}) answered with one code."),
    "gps_missing": T("нет GPS-координат.", "GPS координаттары жок.", "no GPS location recorded."),
    "gps_far": T("дальше {km} км от центра села (медиана его интервью, если их не меньше {min}).",
                 "айылдын борборунан {km} кмден алыс (анын интервьюларынын медианасы, алар "
                 "кеминде {min} болсо).",
                 "farther than {km} km from the village's centre (the median of its interviews, "
                 "when it has {min})."),
    "enumerator_outlier": T(
        "ответы интервьюера далеки от ответов коллег в тех же сёлах: модифицированный z больше "
        "{z} (у интервьюеров с не меньше {min} интервью).",
        "интервьюердин жооптору ошол эле айылдардагы кесиптештердикинен алыс: модификацияланган "
        "z {z}дан жогору (кеминде {min} интервьюсу бар интервьюерлерде).",
        "the enumerator's answers stand far from peers' in the same villages: modified z beyond "
        "{z} (enumerators with at least {min} interviews)."),
    "open": T("не задан", "белгиленген эмес", "not set"),
}


def _number(value: float) -> str:
    return f"{value:g}"


def explain_method(method: Method, scale: list[ScaleLabel], rule_labels: dict[str, str],
                   lang: str) -> list[tuple[str, str]]:
    """(topic, explanation) for every part of the method, in ``lang``; ``scale`` is the
    satisfaction scale's codes and labels, ``rule_labels`` each quality rule's name."""
    def say(key: str, **values: object) -> str:
        return tr(key, lang, EXPLAIN, **values)

    valid = [s for s in scale if not s.missing]
    shown = (f"{valid[0].code} — {valid[0].label} … {valid[-1].code} — {valid[-1].label}"
             if valid else "1 … 5")
    missing = ", ".join(f"«{s.code} — {s.label}»" for s in scale if s.missing) or say("none")
    level = _number(100 * method.confidence_level)
    rules = [r for r in method.quality_rules if r in method.exclude_rules]
    flag_only = [r for r in method.quality_rules if r not in method.exclude_rules]
    parts = {
        "scale": say("scale", scale=shown, missing=missing),
        "satisfaction": say("satisfaction", top_box=", ".join(method.top_box),
                            headline=say(f"headline.{method.headline_satisfaction}")),
        "weights": say("weights", low=_number(method.weight_trim_low),
                       high=_number(method.weight_trim_high)),
        "intervals": say(f"intervals.{method.villages}", level=level),
        "importance": say("importance", max=method.max_priorities),
        "effectiveness": say("effectiveness", min=_number(100 * method.min_effectiveness_coverage)),
        "gap": say("gap", t=_number(method.gap_threshold)),
        "quadrants": say("quadrants", cut=_number(method.quadrant_cut)),
        "suppression": say("suppression", k=method.suppress_below, f1=method.flag_below - 1),
        "changes": say("changes", how=say(f"how.{method.headline_satisfaction}"),
                       alpha=_number(round(1 - method.confidence_level, 6))),
        "quality": say("quality",
                       approved=say("excluded" if method.exclude_not_approved else "kept"),
                       consent=say("excluded" if method.exclude_no_consent else "kept"),
                       rules="; ".join(rule_labels.get(r, r) for r in rules) or say("none"),
                       flag_only="; ".join(rule_labels.get(r, r) for r in flag_only)
                       or say("none")),
        "focus_groups": say("focus_groups", gap=_number(method.fg_score_gap)),
        "recommendations": say("recommendations"),
    }
    out = [(tr(key, lang, TOPICS), text) for key, text in parts.items()]
    out += [(rule_labels.get(rule, rule), rule_text(rule, method, lang))
            for rule in method.quality_rules]
    return out


def rule_text(rule: str, method: Method, lang: str) -> str:
    """What the quality rule checks, with its threshold, in ``lang``."""
    if rule not in RULES:
        return rule
    open_ = tr("open", lang, RULES)
    return tr(rule, lang, RULES, start=method.fieldwork_start or open_,
              end=method.fieldwork_end or open_, seconds=_number(method.min_seconds_per_answer),
              share=_number(100 * method.straight_lining_share),
              blocks=method.straight_lining_min_blocks, km=_number(method.gps_max_km),
              min=(method.enumerator_min_interviews if rule == "enumerator_outlier"
                   else method.gps_min_interviews),
              z=_number(method.enumerator_outlier_z))


def method_settings(method: Method) -> list[tuple[str, str]]:
    """The settings of ``indicators.yaml`` the scores were made with, as (key, value)."""
    def show(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        if isinstance(value, float):
            return _number(value)
        return "" if value is None else str(value)

    m = method
    rows = [
        ("study.code", m.study_code), ("study.round", m.definition_round),
        ("study.fieldwork_start", m.fieldwork_start), ("study.fieldwork_end", m.fieldwork_end),
        ("method.gap_threshold", m.gap_threshold), ("method.quadrant_cut", m.quadrant_cut),
        ("method.suppress_below", m.suppress_below), ("method.flag_below", m.flag_below),
        ("method.min_effectiveness_coverage", m.min_effectiveness_coverage),
        ("method.headline_satisfaction", m.headline_satisfaction),
        ("method.top_box", m.top_box), ("method.confidence_level", m.confidence_level),
        ("method.weight_trim.low", m.weight_trim_low), ("method.weight_trim.high", m.weight_trim_high),
        ("method.villages", m.villages), ("importance.max_choices", m.max_priorities),
        ("quality.min_seconds_per_answer", m.min_seconds_per_answer),
        ("quality.straight_lining_share", m.straight_lining_share),
        ("quality.straight_lining_min_blocks", m.straight_lining_min_blocks),
        ("quality.gps_max_km", m.gps_max_km), ("quality.gps_min_interviews", m.gps_min_interviews),
        ("quality.enumerator_outlier_z", m.enumerator_outlier_z),
        ("quality.enumerator_min_interviews", m.enumerator_min_interviews),
        ("quality.fg_score_gap", m.fg_score_gap),
        ("quality.exclude.not_approved", m.exclude_not_approved),
        ("quality.exclude.no_consent", m.exclude_no_consent),
        *((f"quality.exclude.{rule}", rule in m.exclude_rules) for rule in m.quality_rules),
    ]
    return [(key, show(value)) for key, value in rows]
