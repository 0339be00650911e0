"""``aimak plan``, ``aimak report`` and ``aimak serve`` through the real command: the plan is
written from the study definition alone; every mistake is one line naming the bad value and the
fix, exit status 1, nothing written; the fieldwork plan in another folder of a person's files
leaves those files alone."""

from __future__ import annotations

import openpyxl
from test_cli_errors import _aimak, _one_line

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY

STUDY = ("--definition", str(BUNDLED_DEFINITION), "--geography", str(BUNDLED_GEOGRAPHY))


def _one_line_error(done, *words: str) -> None:
    line = _one_line(done)
    for word in words:
        assert word in line, (word, line)


def test_plan__written_from_the_definition_alone_in_the_chosen_language(tmp_path):
    out = tmp_path / "plans"
    out.mkdir()
    (out / "budget.xlsx").write_bytes(b"a person's own workbook")
    done = _aimak(tmp_path, "plan", *STUDY, "--start", "2027-04-05", "--day-off", "2027-04-07",
                  "--out", str(out), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert f"fieldwork plan: {out / 'fieldwork_plan.xlsx'} (from 2027-04-05 to " in done.stdout
    book = openpyxl.load_workbook(out / "fieldwork_plan.xlsx")
    assert len(book.sheetnames) >= 5 and not (tmp_path / "w.duckdb").exists()
    assert (out / "budget.xlsx").read_bytes() == b"a person's own workbook"


def test_plan__a_date_not_in_iso_form_is_one_line(tmp_path):
    _one_line_error(_aimak(tmp_path, "plan", *STUDY, "--start", "05/04/2027"),
                    "--start '05/04/2027' is not a date", "YYYY-MM-DD")
    assert not list(tmp_path.rglob("*.xlsx"))


def test_plan__a_file_given_as_the_folder_is_refused_and_kept(tmp_path):
    (tmp_path / "out").write_text("mine")
    _one_line_error(_aimak(tmp_path, "plan", *STUDY, "--out", str(tmp_path / "out")),
                    "this is a file, not a folder")
    assert (tmp_path / "out").read_text() == "mine"


def test_report__no_warehouse_yet_says_to_sync_and_score(tmp_path):
    _one_line_error(_aimak(tmp_path, "report", *STUDY), "there is no warehouse at",
                    "aimak sync", "aimak score")
    assert not (tmp_path / "w.duckdb").exists()


def test_report__a_warehouse_never_scored_says_to_score(tmp_path):
    from warehouse.db import connect

    connect(tmp_path / "w.duckdb").close()
    _one_line_error(_aimak(tmp_path, "report", *STUDY, "--out", str(tmp_path / "out")),
                    "no gap scores yet", "aimak score")
    assert not list(tmp_path.rglob("*.xlsx"))


def test_report__an_unknown_language_is_one_line(tmp_path):
    from warehouse.db import connect

    connect(tmp_path / "w.duckdb").close()
    _one_line_error(_aimak(tmp_path, "report", *STUDY, "--lang", "kz"), "'kz'", "ru, ky or en")


def test_serve__without_a_prefect_server_says_how_to_start_one(tmp_path):
    _one_line_error(_aimak(tmp_path, "serve", *STUDY, KOBO_TOKEN="t0ken"),
                    "prefect server start", "PREFECT_API_URL")
