"""The study definition and the forms generated from it.

``forms/indicators.yaml`` and ``forms/geography.csv`` are edited by people; ``load_study`` reads and
checks both; ``build_forms`` writes the XLSForms (and XForms) into ``forms/xlsform/``.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DEFINITION = PACKAGE_DIR / "indicators.yaml"
BUNDLED_GEOGRAPHY = PACKAGE_DIR / "geography.csv"
LANGUAGES = ("ru", "ky", "en")
LANGUAGE_NAMES = {"ru": "Русский (ru)", "ky": "Кыргызча (ky)", "en": "English (en)"}
