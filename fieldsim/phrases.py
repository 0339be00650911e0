"""What simulated focus groups say: theme summaries, quotes and recommendations in Russian and
Kyrgyz (the languages sessions are held in), plus names and document references for the LSG
assessment. Synthetic text for demos and tests; ``{service}`` is replaced by the service name."""

from __future__ import annotations

import random

__all__ = ["document", "informant", "person", "quote", "recommendation", "summary"]

THEME = {
    "ru": {"access": "доступности", "quality": "качестве", "reliability": "перебоях",
           "tariff": "оплате и тарифах", "staff": "отношении сотрудников",
           "information": "информировании жителей", "participation": "участии жителей",
           "fairness": "справедливости", "infrastructure": "состоянии объектов",
           "other": "разных вопросах"},
    "ky": {"access": "жеткиликтүүлүк", "quality": "сапат", "reliability": "үзгүлтүктөр",
           "tariff": "төлөм жана тарифтер", "staff": "кызматкерлердин мамилеси",
           "information": "тургундарга маалымат берүү", "participation": "тургундардын катышуусу",
           "fairness": "адилеттүүлүк", "infrastructure": "объектилердин абалы",
           "other": "ар кандай маселелер"},
}

SUMMARY = {
    "ru": {
        "positive": "Участники в целом довольны услугой «{service}»: говорили о {theme}, "
                    "отметили улучшения за последний год.",
        "mixed": "Мнения об услуге «{service}» разделились: обсуждали вопрос о {theme}, "
                 "часть участников видит улучшения, часть — нет.",
        "negative": "Участники недовольны услугой «{service}»; главная проблема — в {theme}, "
                    "жалобы повторялись у большинства.",
    },
    "ky": {
        "positive": "Катышуучулар «{service}» кызматына негизинен ыраазы: {theme} жөнүндө "
                    "сүйлөштү, акыркы жылы жакшыруулар бар экенин белгилешти.",
        "mixed": "«{service}» кызматы боюнча пикирлер экиге бөлүндү: {theme} маселеси "
                 "талкууланды, айрымдар жакшырууну көрөт, айрымдар көрбөйт.",
        "negative": "Катышуучулар «{service}» кызматына нааразы; негизги көйгөй — {theme}, "
                    "көпчүлүгү ушул эле даттанууну кайталады.",
    },
}

QUOTES = {
    "ru": {
        "positive": ["В этом году стало заметно лучше, спасибо айыл окмоту.",
                     "Раньше ждали неделями, теперь решают быстро.",
                     "Я довольна, всё работает как надо.",
                     "Молодцы, что спрашивают мнение людей."],
        "mixed": ["Где-то стало лучше, а на нашей улице всё по-старому.",
                  "Летом нормально, а зимой опять проблемы.",
                  "Обещали много, сделали половину.",
                  "Если напомнить, делают, а сами не приходят."],
        "negative": ["Сколько ни жалуемся, ничего не меняется.",
                     "Мы платим, а услуги нет.",
                     "Никто не знает, к кому обращаться.",
                     "Пишем заявления, ответа нет уже полгода."],
    },
    "ky": {
        "positive": ["Быйыл байкаларлык жакшырды, айыл өкмөтүнө рахмат.",
                     "Мурун жумалап күтчүбүз, азыр тез чечишет.",
                     "Мен ыраазымын, баары иштеп жатат.",
                     "Элдин пикирин сурап жатканы жакшы."],
        "mixed": ["Кээ бир жерде жакшырды, биздин көчөдө баягыдай эле.",
                  "Жайында жакшы, кышында кайра көйгөй.",
                  "Көп убада беришти, жарымын гана аткарышты.",
                  "Эскертсең жасашат, өздөрү келишпейт."],
        "negative": ["Канча даттансак да эч нерсе өзгөрбөйт.",
                     "Биз төлөйбүз, кызмат жок.",
                     "Кимге кайрылышты эч ким билбейт.",
                     "Арыз жазабыз, жарым жылдан бери жооп жок."],
    },
}

RECOMMENDATION = {
    "ru": ["Составить график работ по услуге «{service}» и вывесить его в каждом селе.",
           "Провести встречу с жителями по услуге «{service}» до конца квартала.",
           "Назначить ответственного за жалобы по услуге «{service}».",
           "Предусмотреть средства на услугу «{service}» в бюджете следующего года."],
    "ky": ["«{service}» кызматы боюнча иш графигин түзүп, ар бир айылга илүү.",
           "Чейрек аягына чейин «{service}» кызматы боюнча тургундар менен жолугушуу өткөрүү.",
           "«{service}» кызматы боюнча даттанууларга жооптуу адамды дайындоо.",
           "Кийинки жылдын бюджетинде «{service}» кызматына каражат кароо."],
}

SURNAMES = ["Асанова", "Бекова", "Токтогулова", "Жумабаева", "Осмонова", "Сыдыкова",
            "Абдыкадыров", "Мамытов", "Орозбеков", "Исаков", "Турдубаев", "Калыков"]
INITIALS = "АБГДЖКМНСТЧЭ"
ROLES = {"ru": ["ответственный секретарь", "специалист по финансам", "глава айыл окмоту",
                "специалист по соцвопросам"],
         "ky": ["жооптуу катчы", "каржы адиси", "айыл өкмөтүнүн башчысы",
                "социалдык маселелер боюнча адис"]}
DOCUMENTS = {"ru": ["Протокол № {n}", "Отчёт за 2026 г., стр. {n}", "Журнал учёта, запись {n}",
                    "Решение айылного кенеша № {n}", "Договор № {n}"],
             "ky": ["№ {n} протокол", "2026-жылдын отчёту, {n}-бет", "Каттоо журналы, {n}-жазуу",
                    "Айылдык кеңештин № {n} чечими", "№ {n} келишим"]}


def _lang(language: str) -> str:
    return "ky" if language == "ky" else "ru"


def summary(language: str, sentiment: str, theme: str, service: str) -> str:
    lang = _lang(language)
    return SUMMARY[lang][sentiment].format(service=service, theme=THEME[lang][theme])


def quote(language: str, sentiment: str, rng: random.Random) -> str:
    return rng.choice(QUOTES[_lang(language)][sentiment])


def recommendation(language: str, service: str, rng: random.Random) -> str:
    return rng.choice(RECOMMENDATION[_lang(language)]).format(service=service)


def person(rng: random.Random) -> str:
    """A short name as a note-taker writes it, e.g. 'Асанова Н.' (at most 20 characters)."""
    return f"{rng.choice(SURNAMES)} {rng.choice(INITIALS)}."


def informant(language: str, rng: random.Random) -> str:
    return f"{person(rng)}, {rng.choice(ROLES[_lang(language)])}"


def document(language: str, rng: random.Random) -> str:
    return rng.choice(DOCUMENTS[_lang(language)]).format(n=rng.randint(3, 180))
