"""The words of the fieldwork plan (``reports/plan.py``) in Russian, Kyrgyz and English; the words
several deliverables share are in ``reports/texts.py``."""

from __future__ import annotations

from forms.definition import Text
from reports.texts import T

WEEKDAYS = (
    T("понедельник", "дүйшөмбү", "Monday"),
    T("вторник", "шейшемби", "Tuesday"),
    T("среда", "шаршемби", "Wednesday"),
    T("четверг", "бейшемби", "Thursday"),
    T("пятница", "жума", "Friday"),
    T("суббота", "ишемби", "Saturday"),
    T("воскресенье", "жекшемби", "Sunday"),
)

PLAN: dict[str, Text] = {
    # sheet names (at most 31 characters)
    "sheet.summary": T("Сводка", "Жыйынтык", "Summary"),
    "sheet.villages": T("Сёла и квоты", "Айылдар жана квоталар", "Villages and quotas"),
    "sheet.schedule": T("График интервью", "Интервью графиги", "Interview schedule"),
    "sheet.team_days": T("Команды по дням", "Командалар күн боюнча", "Teams by day"),
    "sheet.sessions": T("Оценка ОМСУ и фокус-группы", "ЖӨБдү баалоо, фокус-топтор",
                        "LSG assessment, focus groups"),
    "sheet.sign_off": T("Согласование", "Макулдашуу", "Sign-off"),
    # headers
    "date": T("Дата", "Күнү", "Date"),
    "weekday": T("День недели", "Жуманын күнү", "Weekday"),
    "team": T("Команда", "Команда", "Team"),
    "supervisor": T("Супервайзер", "Супервайзер", "Supervisor"),
    "enumerator": T("Интервьюер", "Интервьюер", "Enumerator"),
    "enumerators": T("Интервьюеров", "Интервьюерлердин саны", "Enumerators"),
    "village_code": T("Код села", "Айылдын коду", "Village code"),
    "villages": T("Сёла", "Айылдар", "Villages"),
    "village_count": T("Сёл", "Айылдардын саны", "Villages"),
    "adults": T("Взрослых жителей", "Бойго жеткен тургундар", "Adults"),
    "interviews": T("Интервью", "Интервью саны", "Interviews"),
    "interviews_planned": T("Интервью по плану", "Пландагы интервью", "Interviews planned"),
    "margin": T("Погрешность ±, п.п.", "Ката чеги ±, пункт", "Margin of error ±, points"),
    "per_day": T("Интервью на интервьюера в день (макс.)",
                 "Интервьюерге күнүнө интервью (эң көп)", "Interviews per enumerator-day (max)"),
    "first_day": T("Первый день", "Биринчи күн", "First day"),
    "last_day": T("Последний день", "Акыркы күн", "Last day"),
    "days": T("Рабочих дней", "Иш күндөрү", "Working days"),
    "lsg_assessment_day": T("Оценка ОМСУ, дата", "ЖӨБдү баалоо, күнү", "LSG assessment, date"),
    "focus_groups": T("Фокус-групп", "Фокус-топтордун саны", "Focus groups"),
    "in_window": T("В окне полевых работ", "Талаа иштеринин мөөнөтүндө", "Within the window"),
    "session": T("Сессия", "Иш-чара", "Session"),
    "group_type": T("Тип группы", "Топтун түрү", "Group type"),
    "start": T("Начало", "Башталышы", "Start"),
    "end": T("Окончание", "Аякташы", "End"),
    "held_by": T("Проводит", "Өткөрөт", "Held by"),
    "sessions": T("Сессии", "Иш-чаралар", "Sessions"),
    "total": T("Итого", "Бардыгы", "Total"),
    "kind.lsg_assessment": T("Оценка эффективности ОМСУ", "ЖӨБдүн натыйжалуулугун баалоо",
                             "LSG effectiveness assessment"),
    "kind.focus_group": T("Фокус-группа", "Фокус-топ", "Focus group"),
    # lines above the tables
    "title": T("План полевых работ", "Талаа иштеринин планы", "Fieldwork plan"),
    "study": T("Исследование: {title} (раунд {round})", "Изилдөө: {title} ({round} раунду)",
               "Study: {title} (round {round})"),
    "window": T("Окно полевых работ: {first} — {last}, рабочих дней: {days}.",
                "Талаа иштеринин мөөнөтү: {first} — {last}, иш күндөрү: {days}.",
                "Fieldwork window: {first} to {last}, {days} working days."),
    "basis": T("Выборка: погрешность ±{moe} п.п. при доверительной вероятности {conf}%, "
               "дизайн-эффект {deff}; от {low} до {high} интервью на муниципалитет; всего {n} "
               "интервью.",
               "Тандоо: ката чеги ±{moe} пункт, ишенимдүүлүк {conf}%, дизайн-эффект {deff}; "
               "муниципалитетке {low}дөн {high}гө чейин интервью; бардыгы {n} интервью.",
               "Sample: margin of error ±{moe} points at {conf}% confidence, design effect "
               "{deff}; {low} to {high} interviews per municipality; {n} interviews in all."),
    "days_off": T("Нерабочие дни (кроме суббот и воскресений): {days}.",
                  "Иштелбеген күндөр (ишемби, жекшембиден тышкары): {days}.",
                  "Days off besides weekends: {days}."),
    "no_days_off": T("Праздничных дней в этот период нет.", "Бул мезгилде майрам күндөрү жок.",
                     "No public holiday falls in this period."),
    "day_off": T("выходной день", "дем алыш күнү", "day off"),
    "fits": T("План укладывается в окно полевых работ.", "План талаа иштеринин мөөнөтүнө батат.",
              "The plan fits the fieldwork window."),
    "overflow": T("ВНИМАНИЕ: план не укладывается в окно полевых работ. Строки вне окна выделены.",
                  "КӨҢҮЛ БУРУҢУЗ: план талаа иштеринин мөөнөтүнө батпайт. Мөөнөттөн тышкаркы "
                  "саптар белгиленген.",
                  "WARNING: the plan does not fit the fieldwork window. Rows past it are "
                  "highlighted."),
    "overflow_team": T(
        "Команде {team} нужно ещё {days} раб. дн. после окна (до {last}): {interviews} интервью, "
        "{sessions} сессий.",
        "{team} командасына мөөнөттөн кийин дагы {days} иш күнү керек ({last} чейин): "
        "{interviews} интервью, {sessions} иш-чара.",
        "Team {team} needs {days} more working day(s) past the window (to {last}): {interviews} "
        "interviews, {sessions} sessions."),
    "overflow_fix": T(
        "Что сделать: добавить интервьюеров в команду или передать муниципалитет другой команде, "
        "разрешить больше интервью в день или продлить окно (sample_plan.fieldwork_days, "
        "study.fieldwork_end в indicators.yaml), затем подготовить план заново.",
        "Эмне кылуу керек: командага интервьюер кошуу же муниципалитетти башка командага берүү, "
        "күнүнө көбүрөөк интервьюга уруксат берүү же мөөнөттү узартуу (indicators.yaml ичинде "
        "sample_plan.fieldwork_days, study.fieldwork_end), андан кийин планды кайра даярдоо.",
        "What to do: add enumerators to the team or give a municipality to another team, allow "
        "more interviews a day, or lengthen the window (sample_plan.fieldwork_days, "
        "study.fieldwork_end in indicators.yaml), then prepare the plan again."),
    "how_scheduled": T(
        "Команда работает в одном муниципалитете в день и завершает район, прежде чем перейти в "
        "следующий. Оценку ОМСУ и фокус-группы проводит супервайзер, не более одной сессии "
        "одновременно.",
        "Команда күнүнө бир муниципалитетте иштейт жана районду бүтүргөндөн кийин гана кийинкисине "
        "өтөт. ЖӨБдү баалоону жана фокус-топторду супервайзер өткөрөт, бир убакта бир гана "
        "иш-чара.",
        "A team works in one municipality a day and finishes a rayon before it moves to the "
        "next. The supervisor holds the LSG assessment and the focus groups, one session at a "
        "time."),
    # sign-off
    "sign_off_title": T("Согласование плана полевых работ", "Талаа иштеринин планын макулдашуу",
                        "Fieldwork plan sign-off"),
    "sign_off_scope": T(
        "Муниципалитетов: {municipalities}; сёл: {villages}; интервью: {interviews}; оценок ОМСУ: "
        "{assessments}; фокус-групп: {groups}; команд: {teams}.",
        "Муниципалитеттер: {municipalities}; айылдар: {villages}; интервью: {interviews}; ЖӨБдү "
        "баалоо: {assessments}; фокус-топтор: {groups}; командалар: {teams}.",
        "Municipalities: {municipalities}; villages: {villages}; interviews: {interviews}; LSG "
        "assessments: {assessments}; focus groups: {groups}; teams: {teams}."),
    "role": T("Роль", "Ролу", "Role"),
    "name": T("Ф. И. О.", "Аты-жөнү", "Name"),
    "position": T("Должность", "Кызматы", "Position"),
    "signature": T("Подпись", "Колу", "Signature"),
    "prepared_by": T("Подготовил (исполнитель)", "Даярдаган (аткаруучу)",
                     "Prepared by (contractor)"),
    "agreed_by": T("Согласовано (программа)", "Макулдашылды (программа)",
                   "Agreed by (programme)"),
    "comments": T("Замечания и изменения", "Эскертүүлөр жана өзгөртүүлөр",
                  "Comments and changes"),
}
