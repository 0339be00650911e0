"""The ``aimak`` command line: a thin veneer over the Python API.

Each command parses its options, resolves and checks the settings (before anything slow starts),
calls one stage (``flows.stages``) directly or as a Prefect flow run (``flows.runner`` decides),
and prints its summary. One place, :class:`Veneer`, reports: an :class:`AimakError` becomes one
message on stderr and exit status 1, Ctrl-C the resume message and 130 (``flows.interrupt``);
anything else is a bug and keeps its traceback. Heavy imports (Prefect, pandas, pyxform) happen
inside the commands, so ``aimak --help`` and the direct commands are quick.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from aimak.errors import AimakError
from flows import interrupt

if TYPE_CHECKING:
    from click import Context

    from aimak.settings import Settings


class Veneer(TyperGroup):
    """The one place where errors become exit statuses, for every command and sub-command."""

    def invoke(self, ctx: Context) -> Any:
        try:
            with interrupt.prompt_interrupt():
                return super().invoke(ctx)
        except Exception as err:
            if interrupt.interrupted():  # raised by the interrupt (DuckDB: "Query interrupted")
                interrupt.announce()
                raise typer.Exit(code=interrupt.EXIT_STATUS) from None
            if isinstance(err, AimakError):
                typer.echo(f"error: {err}", err=True)
                raise typer.Exit(code=1) from None
            raise  # a bug: its traceback is shown
        except KeyboardInterrupt:
            interrupt.announce()
            raise typer.Exit(code=interrupt.EXIT_STATUS) from None


app = typer.Typer(
    cls=Veneer,
    help="Aimak: study definition -> ODK forms -> KoboToolbox -> warehouse -> gap scores -> Excel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
forms_app = typer.Typer(help="Build and deploy the ODK forms of the study.", no_args_is_help=True)
app.add_typer(forms_app, name="forms")

DEFAULT_DEFINITION = Path("forms/indicators.yaml")
DEFAULT_GEOGRAPHY = Path("forms/geography.csv")
DEFAULT_FORMS_DIR = Path("forms/xlsform")
PREFECT_HELP = ("Run as a Prefect flow run even when no Prefect API is configured (it is one "
                "anyway when PREFECT_API_URL or the active Prefect profile names an API).")
WarehouseOption = Annotated[Path | None, typer.Option(help="DuckDB warehouse (default: AIMAK_WAREHOUSE).")]
PrefectOption = Annotated[bool, typer.Option("--prefect", help=PREFECT_HELP)]
DefinitionOption = Annotated[Path, typer.Option(help="The study definition (YAML).")]
GeographyOption = Annotated[Path, typer.Option(help="The geography (CSV).")]
FormsDirOption = Annotated[Path, typer.Option("--forms", help="Folder for the generated forms.")]
LangOption = Annotated[str | None, typer.Option(
    "--lang", help="Language of every sheet, header and drafted text: ru, ky or en "
    "(default: AIMAK_LANG, else ru).")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Folder for the files (default: AIMAK_OUT, else out/); only files Aimak wrote "
    "are ever replaced.")]


def _settings(warehouse: Path | None = None, token: bool = True, *, out: Path | None = None,
              lang: str | None = None) -> Settings:
    """The settings with the command's options applied, checked now (a bad KOBO_URL, warehouse
    path, language or a missing token fails here, in a fraction of a second, before any stage or
    Prefect starts)."""
    from aimak.settings import load_settings

    settings = load_settings(warehouse=warehouse, out=out, lang=lang)
    if token:
        settings.require_token()
    return settings


@forms_app.command("build")
def forms_build(
    definition: Annotated[
        Path, typer.Option(help="The study definition (YAML).")
    ] = DEFAULT_DEFINITION,
    geography: Annotated[
        Path, typer.Option(help="Oblasts, rayons, municipalities and villages (CSV).")
    ] = DEFAULT_GEOGRAPHY,
    out: Annotated[Path, typer.Option(help="Folder for the generated forms.")] = DEFAULT_FORMS_DIR,
    validate: Annotated[
        bool, typer.Option(help="Check every form with ODK Validate (needs Java 17).")
    ] = True,
) -> None:
    """Validate the study definition, write the XLSForms and XForms, and check them.

    Example: aimak forms build --out forms/xlsform
    """
    from forms.build import build_forms

    typer.echo(build_forms(definition, geography, out, validate=validate).summary())


@forms_app.command("deploy")
def forms_deploy(
    forms_dir: Annotated[
        Path, typer.Option("--forms", help="Folder of generated XLSForms.")
    ] = DEFAULT_FORMS_DIR,
    warehouse: WarehouseOption = None,
    prefect: PrefectOption = False,
) -> None:
    """Upload and deploy every form to KOBO_URL; redeploy only the forms that changed.

    Example: KOBO_URL=https://kf.kobotoolbox.org KOBO_TOKEN=... aimak forms deploy
    """
    settings = _settings(warehouse)  # before the heavier imports below
    from flows import runner, stages

    if runner.runs_as_flow(prefect):
        stages.check_server(settings)
        from flows.deploy import deploy_forms_flow

        result = runner.call_flow(deploy_forms_flow, str(forms_dir), str(settings.warehouse))
    else:
        result = stages.deploy(settings, forms_dir)
    typer.echo(result.summary())


@app.command("sync")
def sync(
    form: Annotated[str | None, typer.Option(help="Only this form id (default: every deployed form).")] = None,
    warehouse: WarehouseOption = None,
    full_refresh: Annotated[bool, typer.Option(
        "--full-refresh", help="Start the form named by --form over: pull every submission again "
        "and rebuild its tables (earlier raw rows are kept).")] = False,
    confirm_deletions: Annotated[bool, typer.Option(
        "--confirm-deletions", help="Apply the deletions a sync of the form named by --form "
        "refused (more than half of its submissions, or a listing that contradicts the server's "
        "count): only when they are real.")] = False,
    attachments: Annotated[bool | None, typer.Option(
        "--attachments/--no-attachments",
        help="Also download each submission's photos, audio and other files, once, into "
             "'attachments/' beside the warehouse (default: AIMAK_ATTACHMENTS, off).")] = None,
    prefect: PrefectOption = False,
) -> None:
    """Pull new, edited and deleted submissions of every deployed form into the warehouse.

    Example: aimak sync --form citizen_survey --attachments
    """
    settings = _settings(warehouse)  # before the heavier imports below
    from etl.sync import check_scope

    check_scope(form, full_refresh, confirm_deletions)
    from flows import runner, stages

    options = {"full_refresh": full_refresh, "confirm_deletions": confirm_deletions,
               "attachments": attachments}
    if runner.runs_as_flow(prefect):
        stages.check_server(settings)
        from flows.sync import sync_flow

        result = runner.call_flow(sync_flow, form, str(settings.warehouse), **options)
    else:
        result = stages.sync(settings, form, **options)
    typer.echo(result.summary())
    result.raise_for_refusals()


@app.command("score")
def score(
    definition: DefinitionOption = DEFAULT_DEFINITION,
    geography: GeographyOption = DEFAULT_GEOGRAPHY,
    round_code: Annotated[str | None, typer.Option(
        "--round", help="Print this round's table only (every round is always rebuilt).")] = None,
    warehouse: WarehouseOption = None,
    prefect: PrefectOption = False,
) -> None:
    """Rebuild the gap scores and every mart (weights, intervals, effectiveness, round changes,
    fieldwork progress, quality flags, focus groups) in one transaction; print a short table.

    Example: aimak score --round r2026_baseline
    """
    settings = _settings(warehouse, token=False)  # before the heavier imports below
    from flows import runner, stages

    if runner.runs_as_flow(prefect):
        from flows.score import score_flow

        result = runner.call_flow(score_flow, str(definition), str(geography),
                                  str(settings.warehouse), round_code)
    else:
        result = stages.score(settings, definition, geography, round_code)
    typer.echo(result.summary())


@app.command("plan")
def plan(
    definition: DefinitionOption = DEFAULT_DEFINITION,
    geography: GeographyOption = DEFAULT_GEOGRAPHY,
    start: Annotated[str | None, typer.Option(
        help="First day of fieldwork, YYYY-MM-DD (default: study.fieldwork_start, else next "
             "Monday).")] = None,
    day_off: Annotated[list[str] | None, typer.Option(
        "--day-off", help="A day nobody works besides weekends and public holidays, YYYY-MM-DD "
        "(repeat for more).")] = None,
    out: OutOption = None,
    lang: LangOption = None,
) -> None:
    """Write fieldwork_plan.xlsx from the study definition alone: interviews and quotas per
    village, the day-by-day schedule of teams, the LSG assessments and focus groups, a sign-off
    sheet. Run it before fieldwork, to agree the plan with the programme.

    Example: aimak plan --start 2027-04-05 --lang ky
    """
    from flows.reporting import plan as write_plan

    settings = _settings(token=False, out=out, lang=lang)
    first = _date(start, "--start") if start else None
    off = [_date(day, "--day-off") for day in day_off or []]
    typer.echo(write_plan(settings, definition, geography, first, off).summary())


@app.command("report")
def report(
    definition: DefinitionOption = DEFAULT_DEFINITION,
    geography: GeographyOption = DEFAULT_GEOGRAPHY,
    round_code: Annotated[str | None, typer.Option(
        "--round", help="The round to report (default: the latest scored).")] = None,
    out: OutOption = None,
    lang: LangOption = None,
    include_personal: Annotated[bool, typer.Option(
        "--include-personal", help="Keep names, phone numbers, locations and the free text the "
        "study definition marks personal in the clean-data workbooks (left out by default).")]
        = False,
    docx: Annotated[bool, typer.Option(
        "--docx", help="Also draft the Word study report (study_report_<round>_<lang>.docx).")]
        = False,
    warehouse: WarehouseOption = None,
    prefect: PrefectOption = False,
) -> None:
    """Write the round's workbooks from the scored warehouse: gap_report_<round>.xlsx, a
    scorecard_<municipality>.xlsx per municipality, fieldwork_<date>.xlsx and data_<form>.xlsx.

    Example: aimak report --lang ky --out out/r2026
    """
    settings = _settings(warehouse, token=False, out=out, lang=lang)  # before heavier imports
    from flows import runner

    options = {"include_personal": include_personal, "docx": docx}
    if runner.runs_as_flow(prefect):
        from flows.report import report_flow

        result = runner.call_flow(report_flow, str(definition), str(geography),
                                  str(settings.warehouse), round_code, str(settings.out),
                                  settings.lang, **options)
    else:
        from flows.reporting import report as write_report

        result = write_report(settings, definition, geography, round_code, **options)
    typer.echo(result.summary())


def _date(value: str, option: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AimakError(f"{option} {value!r} is not a date: write it as YYYY-MM-DD, e.g. "
                         "2027-04-05.") from None


@app.command("publish")
def publish(
    to: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL of the database, e.g. postgresql://user:password@host/db or "
             "sqlite:///out/marts.db (default: AIMAK_PUBLISH_URL).")] = None,
    round_code: Annotated[str | None, typer.Option(
        "--round", help="Publish this round only (default: every scored round).")] = None,
    definition: DefinitionOption = DEFAULT_DEFINITION,
    warehouse: WarehouseOption = None,
    prefect: PrefectOption = False,
) -> None:
    """Copy the marts, dimension tables and typed form tables (no personal data) to a database
    for dashboards: each round replaced in one transaction, other rounds kept.

    Example: AIMAK_PUBLISH_URL=postgresql://mel:...@db.local/aimak aimak publish --round r2026_baseline
    """
    settings = _settings(warehouse, token=False)  # before the heavier imports below
    from flows import runner, stages

    if runner.runs_as_flow(prefect):
        from pydantic import SecretStr

        from flows.publish import publish_flow

        result = runner.call_flow(publish_flow, SecretStr(to) if to else None, round_code,
                                  str(settings.warehouse), str(definition))
    else:
        result = stages.publish(settings, definition, to, round_code)
    typer.echo(result.summary())


@app.command("server")
def server(
    host: Annotated[str, typer.Option(help="Address to bind. 127.0.0.1 (default) serves this computer "
                                           "only; 0.0.0.0 lets phones on the office Wi-Fi connect, and "
                                           "anyone on that network can then reach it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    data: Annotated[Path, typer.Option(help="Folder that keeps users, forms, submissions and files "
                                            "(SQLite and media); reused on the next start.")] = Path("data/server"),
    username: Annotated[str, typer.Option(help="Account an enumerator types into ODK Collect.")] = "demo",
    password: Annotated[str | None, typer.Option(
        help="Its password (default: the one kept from the last run; 'demo' for a new account).")] = None,
    token: Annotated[str | None, typer.Option(
        help="API token for KOBO_TOKEN (default: the one kept from the last run, or a new one).")] = None,
    legacy: Annotated[bool, typer.Option(
        help="Serve the shapes older self-hosted servers send (offset links, _tags, _notes, numeric "
             "attachment ids).")] = False,
    faults: Annotated[str | None, typer.Option(
        help="Fault injection for tests, comma-separated key=value: latency (s added to every request), "
             "error_rate (share answered 502/503/504), drop_rate (share cut off mid-body), truncate_rate "
             "(share of 200 answers whose body is cut in half but sent as whole), slow_page "
             "(s added to data pages), import_delay (s an import task stays 'processing'), seed. "
             "Example: 'latency=0.05,error_rate=0.25,drop_rate=0.05,slow_page=2,seed=7'.")] = None,
) -> None:
    """Start the KoboToolbox-compatible local server (enumerator training, offline work, tests).

    Prints the API URL and token for the pipeline (KOBO_URL, KOBO_TOKEN) and the server URL,
    username and password to type into ODK Collect. Stop it with Ctrl+C.

    Example: aimak server --host 0.0.0.0 --port 8000 --username team1 --password s3cret
    """
    from fieldsim.server import serve

    def announce(running) -> None:
        typer.echo(f"KoboToolbox-compatible server, data in {data}")
        kobo_url = running.pipeline_url
        if kobo_url:
            typer.echo(f"  API (KOBO_URL):          {kobo_url}")
        else:
            typer.echo(f"  API (KOBO_URL):          none on {host}: the pipeline sends its token over "
                       "plain http only to 127.0.0.1; use --host 0.0.0.0 to serve both")
        typer.echo(f"  API token (KOBO_TOKEN):  {running.token}")
        shown_password = running.password or "(unchanged since the last run; --password sets it)"
        typer.echo(f"  ODK Collect server URL:  {running.phone_url}   username: {username}"
                   f"   password: {shown_password}")
        if running.host in ("127.0.0.1", "localhost", "::1"):
            typer.echo("  (only this computer can connect; use --host 0.0.0.0 for phones on the Wi-Fi)")
        forms = running.deployed_forms()
        if forms:
            typer.echo(f"  Forms phones can download: {', '.join(forms)}")
        elif kobo_url:
            typer.echo("  No form is deployed yet, so phones will find none. From the project folder, "
                       "in another terminal:")
            typer.echo(f"    export KOBO_URL={kobo_url} KOBO_TOKEN={running.token}")
            typer.echo("    aimak forms build && aimak forms deploy")
        typer.echo("Press Ctrl+C to stop.")

    serve(host, port, data, username, password, token, legacy, faults, on_ready=announce)


@app.command("simulate")
def simulate(
    server_url: Annotated[str | None, typer.Option(
        "--server", help="KPI base URL of the server (default: KOBO_URL).")] = None,
    token: Annotated[str | None, typer.Option(
        help="API token (default: KOBO_TOKEN); sent on the API and on /submission.")] = None,
    respondents: Annotated[int | None, typer.Option(
        min=1, help="Citizen interviews in total, split by the sample plan (default: the plan's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated world and fieldwork.")] = 2026,
    out: Annotated[Path, typer.Option(help="Folder for truth.json, fieldwork.csv and the instances.")]
        = Path("out/simulate"),
    username: Annotated[str | None, typer.Option(
        help="Account name for OpenRosa (Digest or Basic, as the server asks) instead of the token.")] = None,
    password: Annotated[str | None, typer.Option(help="Its password.")] = None,
    openrosa_url: Annotated[str | None, typer.Option(
        "--openrosa-url", help="Where /formList and /submission live (default: from --server; "
        "kf.kobotoolbox.org -> kc.kobotoolbox.org, the same host otherwise).")] = None,
    fill_threads: Annotated[int | None, typer.Option(
        "--fill-threads", min=1, help="Threads of the one JavaRosa JVM that fill forms at once "
        "(default: one per CPU core, at most 2).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Threads that post the filled instances to the server "
        "(default: 4).")] = None,
    round_code: Annotated[str | None, typer.Option(
        "--round", help="Study round to simulate; the deployed forms must carry it. Another round "
        "than the definition's is a follow-up: true S and E shifted per cell (seeded), a new "
        "sample, fieldwork three weeks after the baseline's (default: the definition's round).")]
        = None,
) -> None:
    """A simulated field team fills the deployed forms with JavaRosa and sends them over OpenRosa.

    Per municipality: the citizen interviews, one LSG assessment and the focus groups; some sent
    late, a few resent, edited or deleted, validation statuses set. The expected scores are
    written to OUT/truth.json.

    Example: aimak simulate --server http://127.0.0.1:8000 --token ... --respondents 600
    (a follow-up: deploy forms built with study.round r2027_followup, then
    aimak simulate --round r2027_followup --out out/simulate-r2027)
    """
    from aimak.settings import check_server_url
    from fieldsim.simulate import simulate as run_simulation

    settings = _settings(token=False)
    url = check_server_url(server_url or settings.kobo_url, "--server")
    key = token or settings.kobo_token
    phone_url = check_server_url(openrosa_url, "--openrosa-url") if openrosa_url else None
    if not key and not (username and password):
        raise AimakError("no credentials: set KOBO_TOKEN (or pass --token), or pass --username "
                         "and --password.")
    # only what was given: simulate()'s own defaults otherwise
    tuning = {name: value for name, value in
              (("fill_threads", fill_threads), ("workers", workers), ("round_code", round_code))
              if value is not None}
    if sys.stdout.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            tasks: dict[str, object] = {}

            def show(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = run_simulation(url, key, respondents=respondents, seed=seed, out_dir=out,
                                    username=username, password=password, on_progress=show,
                                    openrosa_url=phone_url, **tuning)
    else:
        result = run_simulation(url, key, respondents=respondents, seed=seed, out_dir=out,
                                username=username, password=password, openrosa_url=phone_url,
                                **tuning)
    typer.echo(result.summary())


@app.command("run")
def run(
    definition: DefinitionOption = DEFAULT_DEFINITION,
    geography: GeographyOption = DEFAULT_GEOGRAPHY,
    forms_dir: FormsDirOption = DEFAULT_FORMS_DIR,
    out: OutOption = None,
    lang: LangOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """The data manager's pipeline as one Prefect flow run: build the forms, deploy what changed,
    sync every form, score, write the workbooks; the run's summary, gap matrix and file links
    are left as Prefect artifacts.

    Example: aimak run --lang ky
    """
    settings = _settings(warehouse, out=out, lang=lang)  # before the heavier imports below
    from flows import runner, stages

    stages.check_server(settings)  # a wrong URL or token fails before Prefect starts
    from flows.pipeline import run_flow

    result = runner.call_flow(run_flow, str(definition), str(geography), str(forms_dir),
                              str(settings.warehouse), out=str(settings.out), lang=settings.lang)
    typer.echo(result.summary())


@app.command("serve")
def serve(
    definition: DefinitionOption = DEFAULT_DEFINITION,
    geography: GeographyOption = DEFAULT_GEOGRAPHY,
    forms_dir: FormsDirOption = DEFAULT_FORMS_DIR,
    out: OutOption = None,
    lang: LangOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Serve the scheduled deployments to the Prefect server (PREFECT_API_URL): sync every 30
    minutes during the fieldwork window, scores and workbooks every evening, the fieldwork
    workbook every morning, and the whole run by hand. Change the schedules in the Prefect UI;
    stop with Ctrl+C.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api aimak serve
    """
    settings = _settings(warehouse, out=out, lang=lang)  # before the heavier imports below
    from flows import stages
    from flows.serve import require_prefect_api

    api = require_prefect_api()
    stages.check_server(settings)  # a wrong URL or token fails now, not at the first sync
    from prefect import serve as serve_deployments

    from flows.serve import deployments

    served = deployments(settings, definition, geography, forms_dir)
    typer.echo(f"serving {', '.join(d.name for d in served)} to {api} (Prefect UI: "
               f"{api.removesuffix('/api')}/deployments). Press Ctrl+C to stop.")
    serve_deployments(*served, print_starting_message=False)


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes everything: a new or empty folder, or "
                                           "an earlier demo's (only its own files are replaced).")] = Path("out/demo"),
    respondents: Annotated[int | None, typer.Option(
        help="Citizen interviews in total (default: the sample plan's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated fieldwork.")] = 2026,
    rounds: Annotated[int, typer.Option(
        min=1, max=2, help="1: the baseline; 2: and a follow-up round, so the round changes show.")] = 1,
    lang: LangOption = None,
) -> None:
    """The embedded default, end to end, as one Prefect flow run: the fieldwork plan, a local
    server, the forms built and deployed, simulated fieldwork, then the run's stages (sync,
    scores, every workbook); outputs in OUT. A second demo with the same options reuses the
    finished fieldwork.

    Example: aimak demo --rounds 2
    """
    settings = _settings(token=False, lang=lang)  # a bad language fails before Prefect starts
    from flows import runner
    from flows.demo_folder import check_folder

    check_folder(out)  # a folder of someone's files is refused before Prefect starts

    interrupt.say_on_interrupt(interrupt.DEMO_MESSAGE)
    from flows.demo import demo_flow

    result = runner.call_flow(demo_flow, str(out), respondents, seed, rounds, settings.lang)
    typer.echo(result.summary())


def main() -> None:
    """Console-script entry point."""
    # Prefect phones home unless told not to; the pipeline works offline. Set before Prefect is
    # imported, and inherited by the temporary server it starts.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect gives its temporary server 20 s to start, too little on a busy 2-core laptop
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    try:
        app()
    except SystemExit as done:
        if done.code == interrupt.EXIT_STATUS:
            interrupt.exit_now()  # the work has unwound; skip the interpreter's slow shutdown
        raise


if __name__ == "__main__":
    main()
