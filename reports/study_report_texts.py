"""The words of the study report (``study_report_<round>_<lang>.docx``) in Russian, Kyrgyz and
English: headings, the summary's sentences (each filled from the numbers and their base), the
fieldwork chapter, the per-service and per-municipality findings and the annexes. Column headers
shared with the workbooks come from :mod:`reports.gap_columns`, :mod:`reports.fieldwork_texts`
and :mod:`reports.texts`; the method's explanation from :mod:`reports.method_notes`."""

from __future__ import annotations

from forms.definition import Text
from reports.texts import T

REPORT: dict[str, Text] = {
    # --- cover and contents ---
    "title": T("Отчёт об исследовании", "Изилдөө боюнча отчет", "Study report"),
    "subtitle": T("Удовлетворённость жителей услугами и эффективность ОМСУ",
                  "Тургундардын кызматтарга канааттануусу жана ЖӨБдүн натыйжалуулугу",
                  "Residents' satisfaction with services and the effectiveness of the LSG"),
    "cover_round": T("Раунд: {round}", "Раунд: {round}", "Round: {round}"),
    "cover_fieldwork": T("Полевые работы: {first} — {last}", "Талаа иштери: {first} — {last}",
                         "Fieldwork: {first} to {last}"),
    "cover_places": T("Муниципалитетов: {n}", "Муниципалитеттер: {n}", "Municipalities: {n}"),
    "cover_language": T("Язык отчёта: русский", "Отчеттун тили: кыргызча",
                        "Language of the report: English"),
    "contents": T("Содержание", "Мазмуну", "Contents"),
    "toc_hint": T("Номера страниц появятся после обновления оглавления: F9 в Word, «Сервис → "
                  "Обновить → Все» в LibreOffice.",
                  "Беттердин номерлери мазмунду жаңырткандан кийин чыгат: Word'до F9, "
                  "LibreOffice'то «Сервис → Жаңыртуу → Баары».",
                  "Page numbers appear once the contents are updated: F9 in Word, Tools → "
                  "Update → Update All in LibreOffice."),
    # --- headings ---
    "h.summary": T("Краткое резюме", "Кыскача корутунду", "Summary"),
    "h.method": T("Методика", "Методика", "Method"),
    "h.settings": T("Настройки исследования", "Изилдөөнүн жөндөөлөрү", "The study's settings"),
    "h.fieldwork": T("Полевые работы", "Талаа иштери", "Fieldwork"),
    "h.schedule": T("План и выполнение", "План жана аткарылышы", "Plan and what was done"),
    "h.sample": T("Выборка и квоты", "Тандоо жана квоталар", "Sample against quota"),
    "h.exclusions": T("Что не вошло в расчёт и почему", "Эсепке эмне кирген жок жана эмне үчүн",
                      "What was left out and why"),
    "h.findings": T("Результаты по услугам", "Кызматтар боюнча жыйынтыктар", "Findings by service"),
    "h.municipalities": T("Результаты по муниципалитетам", "Муниципалитеттер боюнча жыйынтыктар",
                          "Findings by municipality"),
    "h.scores": T("Оценки услуг", "Кызматтардын баалары", "Service scores"),
    "h.charts": T("Графики", "Графиктер", "Charts"),
    "h.focus_groups": T("Что сказали участники фокус-групп", "Фокус-топтордун катышуучулары эмне айтты",
                        "What the focus groups said"),
    "h.changes": T("Изменения с прошлого раунда", "Мурунку раунддан бери өзгөрүүлөр",
                   "Changes since the previous round"),
    "h.recommendations": T("Рекомендации (черновик)", "Сунуштар (долбоор)",
                           "Recommendations (draft)"),
    "h.annexes": T("Приложения", "Тиркемелер", "Annexes"),
    "h.questionnaires": T("Приложение 1. Анкеты", "1-тиркеме. Анкеталар", "Annex 1. Questionnaires"),
    "h.indicators": T("Приложение 2. Индикаторы эффективности", "2-тиркеме. Натыйжалуулук индикаторлору",
                      "Annex 2. Effectiveness indicators"),
    "h.plan": T("Приложение 3. План полевых работ", "3-тиркеме. Талаа иштеринин планы",
                "Annex 3. Fieldwork plan"),
    "h.quality": T("Приложение 4. Качество данных", "4-тиркеме. Маалыматтын сапаты",
                   "Annex 4. Data quality"),
    "h.workbooks": T("Приложение 5. Прилагаемые книги Excel", "5-тиркеме. Тиркелген Excel китептери",
                     "Annex 5. Workbooks that go with this report"),
    # --- the summary ---
    "s.where": T("Исследование «{study}», раунд {round}: {n} муниципалитет(а/ов) — {names}.",
                 "«{study}» изилдөөсү, {round} раунду: {n} муниципалитет — {names}.",
                 "The study «{study}», round {round}: {n} municipalities — {names}."),
    "s.when": T("Полевые работы шли с {first} по {last}.", "Талаа иштери {first} — {last} аралыгында өттү.",
                "Fieldwork ran from {first} to {last}."),
    "s.counts": T("В расчёт вошли {interviews} интервью жителей из {received} полученных, {assessments} "
                  "оценок эффективности ОМСУ и {groups} сессий фокус-групп.",
                  "Эсепке {received} алынган интервьюнун {interviews}, ЖӨБдүн натыйжалуулугунун "
                  "{assessments} баалоосу жана фокус-топтордун {groups} жыйыны кирди.",
                  "The scores use {interviews} citizen interviews of {received} received, {assessments} "
                  "LSG effectiveness assessments and {groups} focus-group sessions."),
    "s.gaps": T("Наибольшие доказанные разрывы (интервал не содержит 0):",
                "Эң чоң далилденген ажырымдар (интервал 0ду камтыбайт):",
                "The largest established gaps (their interval excludes 0):"),
    "s.gap": T("{municipality}, «{service}»: разрыв {gap} пунктов (S {s}, n = {n}; E {e}) — {status}.",
               "{municipality}, «{service}»: ажырым {gap} пункт (S {s}, n = {n}; E {e}) — {status}.",
               "{municipality}, «{service}»: a gap of {gap} points (S {s}, n = {n}; E {e}): {status}."),
    "s.no_gaps": T("Ни один разрыв не доказан: интервалы всех посчитанных разрывов ({k}) содержат 0.",
                   "Бир да ажырым далилденген жок: эсептелген ажырымдардын ({k}) баарынын интервалы 0ду камтыйт.",
                   "No gap is established: the intervals of all {k} gaps computed include 0."),
    "s.fix": T("Услуги в квадранте «исправлять в первую очередь» ({k} из {cells}), по важности для жителей:",
               "«Биринчи кезекте оңдоо» квадрантындагы кызматтар ({cells} ичинен {k}), тургундар үчүн маанилүүлүгү боюнча:",
               "Services in the quadrant «fix first» ({k} of {cells}), by importance to residents:"),
    "s.fix_item": T("{municipality}, «{service}»: S {s} (n = {n}), E {e}, важность {imp}.",
                    "{municipality}, «{service}»: S {s} (n = {n}), E {e}, маанилүүлүк {imp}.",
                    "{municipality}, «{service}»: S {s} (n = {n}), E {e}, importance {imp}."),
    "s.no_fix": T("Ни одна услуга не попала в квадрант «исправлять в первую очередь» (из {cells} оценок).",
                  "{cells} баалоонун бир да кызматы «биринчи кезекте оңдоо» квадрантына түшкөн жок.",
                  "No service falls in the quadrant «fix first» (of {cells} scored)."),
    "s.not_assessed": T("Без оценки эффективности ОМСУ — E и разрыв не посчитаны: {names}.",
                        "ЖӨБдүн натыйжалуулугу бааланган жок — E жана ажырым эсептелген жок: {names}.",
                        "No LSG effectiveness assessment, so no E and no gap: {names}."),
    "s.suppressed": T("{k} из {cells} оценок удовлетворённости скрыты (*): ответивших меньше {min}.",
                      "Канааттануунун {cells} баасынын {k} жашырылган (*): жооп бергендер {min}дан аз.",
                      "{k} of {cells} satisfaction scores are suppressed (*): fewer than {min} answered."),
    "s.more": T("…и ещё {k}.", "…дагы {k}.", "…and {k} more."),
    # --- fieldwork ---
    "f.plan_from": T("Согласованный план разложен от {start} ({source}); окно полевых работ — {first} — "
                     "{last}, {days} рабочих дней.",
                     "Макулдашылган план {start} күнүнөн баштап түзүлгөн ({source}); талаа иштеринин "
                     "мөөнөтү — {first} — {last}, {days} жумуш күнү.",
                     "The agreed plan is laid out from {start} ({source}); the fieldwork window is "
                     "{first} to {last}, {days} working days."),
    "f.source_definition": T("study.fieldwork_start в определении исследования",
                             "изилдөөнүн аныктамасындагы study.fieldwork_start",
                             "study.fieldwork_start of the study definition"),
    "f.source_data": T("в определении нет даты начала: взят первый день данных",
                       "аныктамада баштоо күнү жок: маалыматтын биринчи күнү алынды",
                       "the definition sets no start: the first day of data is used"),
    "f.no_plan": T("План полевых работ не построен: {error}", "Талаа иштеринин планы түзүлгөн жок: {error}",
                   "No fieldwork plan could be laid out: {error}"),
    "f.planned_days": T("Дни по плану", "План боюнча күндөр", "Days planned"),
    "f.done_days": T("Дни по факту", "Иш жүзүндөгү күндөр", "Days worked"),
    "f.quota_note": T("Квота — интервью по плану выборки; выполнено — завершённые интервью; "
                      "в расчёте — вошедшие в оценки.",
                      "Квота — тандоо планы боюнча интервьюлар; аткарылды — аяктаган интервьюлар; "
                      "эсепте — баалоого кирген интервьюлар.",
                      "Quota: interviews in the sample plan; completed: finished interviews; used: "
                      "those the scores use."),
    "f.no_interviews": T("В этом раунде нет интервью жителей.", "Бул раундда тургундардын интервьюлары жок.",
                         "No citizen interview in this round."),
    "f.quota_share": T("% квоты", "Квотанын %ы", "% of quota"),
    "f.by_group": T("Выполнение квот по полу и возрасту (все муниципалитеты):",
                    "Жынысы жана жашы боюнча квоталардын аткарылышы (бардык муниципалитеттер):",
                    "Quotas by sex and age group (all municipalities):"),
    "f.none_left_out": T("Все полученные записи вошли в расчёт.", "Алынган бардык жазуулар эсепке кирди.",
                         "Every submission received was used."),
    # --- findings by service ---
    "v.range": T("S от {low} ({low_name}) до {high} ({high_name}); разрыв доказан в {est} из {k} "
                 "муниципалитетов; E посчитана в {e} из {k}.",
                 "S {low} ({low_name}) баштап {high} ({high_name}) чейин; ажырым {k} муниципалитеттин "
                 "{est} далилденген; E {k} ичинен {e} эсептелген.",
                 "S runs from {low} ({low_name}) to {high} ({high_name}); the gap is established in "
                 "{est} of {k} municipalities; E is computed in {e} of {k}."),
    "v.no_s": T("Ни в одном муниципалитете S не показана: ответивших меньше {min} или никто не "
                "пользуется услугой.",
                "Бир да муниципалитетте S көрсөтүлгөн жок: жооп бергендер {min}дан аз же кызматты "
                "эч ким колдонбойт.",
                "S is shown in no municipality: fewer than {min} answered, or nobody uses the service."),
    # --- one municipality ---
    "ci": T("95% ДИ", "95% ИИ", "95% CI"),
    "m.scores_note": T("Услуги по важности для жителей. S — % довольных (95% интервал), E — работа ОМСУ "
                       "по документам (0–100), покрытие — доля индикаторов услуги в оценке.",
                       "Кызматтар тургундар үчүн маанилүүлүгү боюнча. S — ыраазы болгондордун %ы (95% "
                       "интервал), E — документтер боюнча ЖӨБдүн иши (0–100), камтуу — баалоодогу "
                       "кызматтын индикаторлорунун үлүшү.",
                       "Services by importance to residents. S: % satisfied (95% interval); E: the "
                       "LSG's performance from records (0–100); coverage: share of the service's "
                       "indicators in the assessment."),
    "m.no_quadrant": T("Нет услуги и с показанной S, и с посчитанной E: квадрантов нет.",
                       "Көрсөтүлгөн S жана эсептелген E бар кызмат жок: квадранттар жок.",
                       "No service has both a shown S and an E: no quadrant chart."),
    "m.no_bars": T("Нет ни одной показанной S или посчитанной E: графика нет.",
                   "Бир да көрсөтүлгөн S же эсептелген E жок: график жок.",
                   "No S shown and no E computed: no chart."),
    "m.theme": T("«{service}» — {group}: «{theme}» ({sentiment}); сессий: {k} из {h}; согласились {a} из "
                 "{p} участников.",
                 "«{service}» — {group}: «{theme}» ({sentiment}); жыйындар: {h} ичинен {k}; {p} "
                 "катышуучунун {a} макул болду.",
                 "«{service}», {group}: «{theme}» ({sentiment}); raised in {k} of {h} sessions; {a} of "
                 "{p} participants agreed."),
    "m.no_themes": T("Фокус-группы в этом муниципалитете не записали тем.",
                     "Бул муниципалитеттеги фокус-топтор тема жазган жок.",
                     "The focus groups recorded no theme in this municipality."),
    "m.quotes": T("Слова участников (как записаны):", "Катышуучулардын сөздөрү (жазылгандай):",
                  "Participants' words (as recorded):"),
    "m.speaker": T(" — {who}", " — {who}", " — {who}"),
    "m.no_change_rows": T("В предыдущем раунде ({before}) этот муниципалитет не оценивался.",
                          "Мурунку раундда ({before}) бул муниципалитет бааланган эмес.",
                          "The municipality was not scored in the previous round ({before})."),
    # --- recommendations ---
    "r.intro": T("Черновики составлены по квадранту, разрыву, важности, самому слабому аспекту и "
                 "индикатору и темам фокус-групп. По каждому муниципалитету — в порядке важности услуги "
                 "для жителей. Эксперт редактирует их до передачи ОМСУ.",
                 "Долбоорлор квадрант, ажырым, маанилүүлүк, эң начар жагы жана индикатору, "
                 "фокус-топтордун темалары боюнча түзүлдү. Ар бир муниципалитет боюнча — кызматтын "
                 "тургундар үчүн маанилүүлүгүнүн тартибинде. Эксперт аларды ЖӨБгө бергенге чейин түзөтөт.",
                 "The drafts are composed from the quadrant, the gap, importance, the weakest aspect and "
                 "indicator and the focus-group themes; for each municipality in order of the "
                 "service's importance to residents. An expert edits them before they go to an LSG."),
    # --- annexes ---
    "q.intro": T("Анкеты напечатаны из определения исследования (forms/indicators.yaml) так, как их "
                 "видят интервьюеры в ODK Collect; условия показа вопросов опущены.",
                 "Анкеталар изилдөөнүн аныктамасынан (forms/indicators.yaml) интервьюерлер ODK "
                 "Collect'те көргөндөй басылды; суроолорду көрсөтүү шарттары түшүрүлүп калды.",
                 "The questionnaires are printed from the study definition (forms/indicators.yaml) as "
                 "enumerators see them in ODK Collect; the conditions that show a question are left out."),
    "q.options": T("Варианты: {options}", "Варианттар: {options}", "Options: {options}"),
    "q.places": T("Выбор из списка: {what} ({n}).", "Тизмеден тандоо: {what} ({n}).",
                  "Chosen from a list: {what} ({n})."),
    "q.multiple": T("(можно выбрать несколько)", "(бир нечесин тандаса болот)", "(several may be chosen)"),
    "q.repeat": T("Повторяется: {label}", "Кайталанат: {label}", "Repeated: {label}"),
    "q.type.integer": T("целое число", "бүтүн сан", "whole number"),
    "q.type.decimal": T("число", "сан", "number"),
    "q.type.text": T("текст", "текст", "text"),
    "q.type.date": T("дата", "күн", "date"),
    "q.type.time": T("время", "убакыт", "time"),
    "q.type.geopoint": T("GPS-координаты", "GPS координаттары", "GPS location"),
    "q.type.image": T("фото", "сүрөт", "photo"),
    "q.type.audio": T("аудиозапись", "аудио жазуу", "audio recording"),
    "q.type.file": T("файл", "файл", "file"),
    "q.type.rank": T("упорядочить по важности", "маанилүүлүгү боюнча иреттөө", "put in order"),
    "q.list.enumerator": T("интервьюеры", "интервьюерлер", "enumerators"),
    "q.list.oblast": T("области", "облустар", "oblasts"),
    "q.list.rayon": T("районы", "райондор", "rayons"),
    "q.list.municipality": T("муниципалитеты", "муниципалитеттер", "municipalities"),
    "q.list.village": T("сёла", "айылдар", "villages"),
    "p.plan": T("план", "план", "planned"),
    "p.overflow": T("План не укладывается в окно полевых работ: {problems}",
                    "План талаа иштеринин мөөнөтүнө батпайт: {problems}",
                    "The plan does not fit the fieldwork window: {problems}"),
    "p.sessions": T("Оценки ОМСУ и фокус-группы по плану:", "План боюнча ЖӨБдү баалоо жана фокус-топтор:",
                    "LSG assessments and focus groups in the plan:"),
    "d.forms": T("Записи по формам:", "Формалар боюнча жазуулар:", "Submissions by form:"),
    "d.reasons": T("Исключённые и отмеченные интервью по муниципалитетам и причинам:",
                   "Муниципалитеттер жана себептер боюнча четтетилген жана белгиленген интервьюлар:",
                   "Interviews left out or flagged, by municipality and reason:"),
    "d.enumerators": T("Интервьюеры с отмеченными интервью:", "Белгиленген интервьюлары бар интервьюерлер:",
                       "Enumerators with flagged interviews:"),
    "d.no_flags": T("Ни одно интервью не отмечено правилами качества.",
                    "Сапат эрежелери бир да интервьюну белгилеген жок.",
                    "The quality rules flagged no interview."),
    "w.intro": T("С отчётом передаются эти книги Excel (все подготовлены Aimak из того же хранилища):",
                 "Отчет менен бирге бул Excel китептери берилет (баарын Aimak ошол эле кампадан даярдаган):",
                 "These workbooks go with the report (all written by Aimak from the same warehouse):"),
    "w.none": T("Список книг Excel не передан вместе с отчётом.", "Excel китептеринин тизмеси отчет менен берилген жок.",
                "No list of workbooks was given with the report."),
    "w.file": T("Файл", "Файл", "File"),
    "w.size": T("Размер, КБ", "Көлөмү, КБ", "Size, KB"),
}
