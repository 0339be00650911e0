"""The words of the fieldwork workbook (``reports/fieldwork.py``) in Russian, Kyrgyz and English:
sheet names, cover lines, column headers, the reasons an interview is flagged or left out, a
village's progress status, and the detail of each quality rule in words (built from the rule's
measure and threshold, so it reads in the chosen language; ``quality_flags.detail`` is English)."""

from __future__ import annotations

from forms.definition import Text
from reports.texts import T

FIELDWORK: dict[str, Text] = {
    # sheets (at most 31 characters in every language)
    "sheet.summary": T("Итоги", "Жыйынтык", "Summary"),
    "sheet.villages": T("Сёла", "Айылдар", "Villages"),
    "sheet.quota": T("Пол и возраст", "Жынысы жана жашы", "Sex and age"),
    "sheet.days": T("По дням", "Күндөр боюнча", "By day"),
    "sheet.sessions": T("Оценка ОМСУ и ФГД", "ЖӨБ баалоо жана ФТТ", "LSG and focus groups"),
    "sheet.enumerators": T("Интервьюеры", "Интервьюерлер", "Enumerators"),
    "sheet.flagged": T("Отмеченные интервью", "Белгиленген интервьюлар", "Flagged interviews"),
    "sheet.reasons": T("Причины исключения", "Чыгаруу себептери", "Reasons left out"),
    "sheet.excluded": T("Исключённые интервью", "Чыгарылган интервьюлар", "Excluded interviews"),
    # cover lines
    "title": T("Ход полевых работ: {study}, раунд {round}",
               "Талаа иштеринин жүрүшү: {study}, {round} раунду",
               "Fieldwork progress: {study}, round {round}"),
    "data_to": T("Данные по {day} включительно (дата последнего интервью).",
                 "Маалымат {day} кошо алганда (акыркы интервьюнун күнү).",
                 "Data up to {day} (the date of the latest interview)."),
    "no_data": T("Интервью в этом раунде ещё нет: показан план с нулями.",
                 "Бул раунддо азырынча интервью жок: план нөлдөр менен көрсөтүлдү.",
                 "No interview in this round yet: the plan is shown with zeros."),
    "pulled": T("Последняя выгрузка новых данных с сервера: {when}.",
                "Серверден жаңы маалыматтын акыркы жүктөлүшү: {when}.",
                "New data last pulled from the server: {when}."),
    "pulled_unknown": T("Выгрузки с сервера ещё не было.", "Серверден азырынча жүктөлгөн жок.",
                        "Nothing pulled from the server yet."),
    "terms": T("Завершённые — с согласием, не отклонены супервайзером и не повторные копии; "
               "в оценках — вошедшие в расчёт разрывов.",
               "Аякталган — макулдук менен, супервайзер четке какпаган жана кайталанган нуска "
               "эмес; баалоодо — ажырымдарды эсептөөгө кирген.",
               "Completed: consent given, not rejected by a supervisor, not a second copy; "
               "used: counted in the gap scores."),
    "total": T("Итого", "Бардыгы", "Total"),
    # notes over tables
    "note.villages": T("Красным — сколько ещё нужно интервью; синим — сверх квоты.",
                       "Кызыл — дагы канча интервью керек; көк — квотадан ашыгы.",
                       "Red: interviews still needed; blue: interviews over the quota."),
    "note.quota": T("Квоты ячеек пол × возраст по плану выборки; красным — недобор, синим — "
                    "перебор.",
                    "Жыныс × жаш уячаларынын тандоо планы боюнча квоталары; кызыл — жетишпегени, "
                    "көк — ашыгы.",
                    "Quotas of the sex × age-group cells of the sample plan; red: still "
                    "needed, blue: over."),
    "note.days": T("Завершённые интервью по сёлам и дням.",
                   "Айылдар жана күндөр боюнча аякталган интервьюлар.",
                   "Completed interviews by village and day."),
    "note.sessions": T("Оценка ОМСУ (одна на муниципалитет) и фокус-группы по плану; красным — "
                       "не проведено.",
                       "ЖӨБ баалоосу (муниципалитетке бирөө) жана план боюнча фокус-топтор; "
                       "кызыл — өткөрүлө элек.",
                       "The LSG assessment (one per municipality) and focus groups against the "
                       "plan; red: not done yet."),
    "note.enumerators": T("Красным — интервью, отмеченные правилом качества; интервьюер "
                          "выделен, если его ответы далеки от ответов коллег.",
                          "Кызыл — сапат эрежеси белгилеген интервьюлар; жооптору "
                          "кесиптештердикинен алыс болсо, интервьюер белгиленет.",
                          "Red: interviews flagged by a quality rule; an enumerator is marked "
                          "when their answers stand far from their peers'."),
    "note.flagged": T("Одна строка на интервью и правило. Найдите интервью на сервере по имени "
                      "или ID экземпляра.",
                      "Интервью жана эреже үчүн бир сап. Интервьюну серверден нусканын аты же "
                      "ID боюнча табыңыз.",
                      "One row per interview and rule. Find the interview on the server by its "
                      "instance name or instance id."),
    "note.reasons": T("«{left_out}» — интервью, исключённые по этой причине (каждое по первой "
                      "причине); «{applies_to}» — все интервью, к которым причина относится.",
                      "«{left_out}» — ушул себеп менен чыгарылган интервьюлар (ар бири биринчи "
                      "себеби боюнча); «{applies_to}» — себеп тиешелүү бардык интервьюлар.",
                      "'{left_out}': interviews left out for this reason (each under its first "
                      "reason); '{applies_to}': every interview the reason applies to."),
    "note.excluded": T("Интервью, не вошедшие в оценки, с первой причиной.",
                       "Баалоого кирбеген интервьюлар, биринчи себеби менен.",
                       "Interviews left out of the scores, with the first reason."),
    "none.flagged": T("Отмеченных интервью нет.", "Белгиленген интервью жок.",
                      "No interview is flagged."),
    "none.excluded": T("Исключённых интервью нет.", "Чыгарылган интервью жок.",
                       "No interview is left out."),
    # headers
    "code": T("Код", "Коду", "Code"),
    "village_code": T("Код села", "Айылдын коду", "Village code"),
    "quota": T("План интервью", "Пландагы интервью", "Planned interviews"),
    "interviews": T("Интервью (всего)", "Интервью (баары)", "Interviews (all)"),
    "refusals": T("Отказы", "Баш тартуулар", "Refusals"),
    "rejected": T("Отклонены супервайзером", "Супервайзер четке каккан", "Rejected by supervisor"),
    "completed": T("Завершённые", "Аякталган", "Completed"),
    "completed_share": T("% плана", "Пландын %", "% of plan"),
    "remaining": T("Осталось", "Калды", "Remaining"),
    "over": T("Сверх квоты", "Квотадан ашыгы", "Over quota"),
    "used": T("В оценках", "Баалоодо", "Used in scores"),
    "left_out": T("Исключены", "Чыгарылган", "Left out"),
    "flagged": T("С отметками качества", "Сапат белгилери менен", "Flagged"),
    "flagged_share": T("% с отметками", "Белгилүүлөрдүн %", "% flagged"),
    "enumerators": T("Интервьюеров", "Интервьюерлер", "Enumerators"),
    "days_worked": T("Дней работы", "Иштеген күндөр", "Days worked"),
    "first_day": T("Первый день", "Биринчи күн", "First day"),
    "last_day": T("Последний день", "Акыркы күн", "Last day"),
    "lsg_done": T("Оценка ОМСУ: проведено", "ЖӨБ баалоо: өткөрүлдү", "LSG assessment: done"),
    "lsg_planned": T("Оценка ОМСУ: план", "ЖӨБ баалоо: план", "LSG assessment: planned"),
    "fg_done": T("Фокус-группы: проведено", "Фокус-топтор: өткөрүлдү", "Focus groups: done"),
    "fg_planned": T("Фокус-группы: план", "Фокус-топтор: план", "Focus groups: planned"),
    "village_status": T("Состояние", "Абалы", "Status"),
    "sex": T("Пол", "Жынысы", "Sex"),
    "age_group": T("Возрастная группа", "Жаш тобу", "Age group"),
    "quota_cell": T("Квота", "Квота", "Quota"),
    "completed_to_date": T("Завершено всего", "Бардыгы аякталган", "Completed to date"),
    "activity": T("Работа", "Иш", "Activity"),
    "group_type": T("Группа", "Топ", "Group"),
    "planned": T("План", "План", "Planned"),
    "submitted": T("Отправлено", "Жөнөтүлдү", "Submitted"),
    "done": T("Проведено", "Өткөрүлдү", "Done"),
    "enumerator": T("Интервьюер", "Интервьюер", "Enumerator"),
    "team": T("Команда", "Команда", "Team"),
    "supervisor": T("Супервайзер", "Супервайзер", "Supervisor"),
    "municipalities": T("Муниципалитеты", "Муниципалитеттер", "Municipalities"),
    "median_minutes": T("Медиана длительности, мин", "Узактыктын медианасы, мүн",
                        "Median duration, min"),
    "gps_share": T("% с GPS", "GPS менен %", "% with GPS"),
    "interview_date": T("Дата", "Күнү", "Date"),
    "instance_name": T("Имя экземпляра", "Нусканын аты", "Instance name"),
    "instance_id": T("ID экземпляра", "Нусканын ID", "Instance id"),
    "submission_id": T("ID отправки", "Жөнөтүүнүн ID", "Submission id"),
    "rule": T("Правило", "Эреже", "Rule"),
    "detail": T("Подробно", "Толугураак", "Detail"),
    "measure": T("Значение", "Мааниси", "Measure"),
    "threshold": T("Порог", "Босого", "Threshold"),
    "rule_excludes": T("Правило исключает", "Эреже чыгарат", "Rule leaves out"),
    "left_out_of_scores": T("Исключено из оценок", "Баалоодон чыгарылды", "Left out of the scores"),
    "reason": T("Причина", "Себеп", "Reason"),
    "reason_left_out": T("Причина исключения", "Чыгаруу себеби", "Reason left out"),
    "other_flags": T("Другие отметки", "Башка белгилер", "Other flags"),
    "applies_to": T("Относится к интервью", "Тиешелүү интервьюлар", "Applies to"),
    "left_out_share": T("% исключено", "Чыгарылгандын %", "% left out"),
    # activities
    "activity.lsg_assessment": T("Оценка ОМСУ", "ЖӨБ баалоо", "LSG assessment"),
    "activity.focus_group": T("Фокус-группа", "Фокус-топ", "Focus group"),
    # a village's progress
    "status.not_started": T("не начато", "башталган эмес", "not started"),
    "status.in_progress": T("в работе", "иш жүрүүдө", "in progress"),
    "status.met": T("квота выполнена", "квота аткарылды", "quota met"),
    "status.over": T("сверх квоты", "квотадан ашык", "over quota"),
    "status.unplanned": T("нет в плане", "планда жок", "not in the plan"),
    # reasons an interview is flagged or left out
    "reason.not_approved": T("Отклонено супервайзером", "Супервайзер четке каккан",
                             "Rejected by a supervisor"),
    "reason.no_consent": T("Нет согласия", "Макулдук жок", "No consent"),
    "reason.outside_geography": T("Место вне географии исследования",
                                  "Жер изилдөөнүн географиясынан тышкары",
                                  "Place outside the study's geography"),
    "reason.no_profile": T("Не указаны пол или возраст", "Жынысы же жашы көрсөтүлгөн эмес",
                           "No sex or age group"),
    "reason.duplicate_instance": T("Повторная копия", "Кайталанган нуска", "Second copy"),
    "reason.outside_window": T("Вне периода полевых работ", "Талаа иштеринин мөөнөтүнөн тышкары",
                               "Outside the fieldwork window"),
    "reason.too_short": T("Слишком короткое", "Өтө кыска", "Too short"),
    "reason.straight_lining": T("Один ответ на всё", "Баарына бир жооп", "Straight-lining"),
    "reason.gps_missing": T("Нет GPS", "GPS жок", "No GPS"),
    "reason.gps_far": T("GPS далеко от села", "GPS айылдан алыс", "GPS far from the village"),
    "reason.enumerator_outlier": T("Интервьюер далёк от коллег", "Интервьюер кесиптештерден алыс",
                                   "Enumerator far from peers"),
    # each rule's detail, from its measure ({value}) and threshold ({limit})
    "detail.duplicate_instance": T(
        "тот же ID экземпляра пришёл на сервер {value:.0f} раз(а); эта копия не первая",
        "ошол эле нусканын ID серверге {value:.0f} жолу келди; бул нуска биринчи эмес",
        "the same instance id reached the server {value:.0f} times; this is not the first copy"),
    "detail.outside_window": T(
        "{value:.0f} дн. вне периода полевых работ ({start} — {end})",
        "талаа иштеринин мөөнөтүнөн ({start} — {end}) {value:.0f} күн тышкары",
        "{value:.0f} days outside the fieldwork window ({start} to {end})"),
    "detail.too_short": T(
        "{value:.1f} с на вопрос, меньше минимума {limit:g} с",
        "бир суроого {value:.1f} сек., бул минимумдан ({limit:g} сек.) аз",
        "{value:.1f} s per question answered, under the {limit:g} s minimum"),
    "detail.straight_lining": T(
        "{value:.0%} блоков услуг отвечены одним кодом (порог {limit:.0%})",
        "кызмат блокторунун {value:.0%} бир код менен жооп берилген (босого {limit:.0%})",
        "{value:.0%} of the service blocks answered with one code (threshold {limit:.0%})"),
    "detail.gps_missing": T("GPS-координаты не записаны", "GPS координаттары жазылган эмес",
                            "no GPS location recorded"),
    "detail.gps_far": T(
        "{value:.1f} км от центра села, допустимо {limit:g} км",
        "айылдын борборунан {value:.1f} км, чеги {limit:g} км",
        "{value:.1f} km from the village's centre, beyond the {limit:g} km allowed"),
    "detail.enumerator_outlier": T(
        "ответы интервьюера далеки от ответов коллег в тех же сёлах: z = {value:.1f} "
        "(порог {limit:g})",
        "интервьюердин жооптору ошол эле айылдардагы кесиптештердикинен алыс: z = {value:.1f} "
        "(босого {limit:g})",
        "the enumerator's answers stand far from their peers' in the same villages: "
        "z = {value:.1f} (threshold {limit:g})"),
    "open": T("не задан", "белгиленген эмес", "open"),
}
