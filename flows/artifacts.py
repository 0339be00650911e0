"""The Prefect artifacts a run leaves: its summary (markdown), the gap matrix (a table) and a link
to each file written. The texts come from :mod:`flows.run_summary`; only the calls to Prefect are
here. Keys are stable (``aimak-run-summary``, ``aimak-gap-matrix``, ``aimak-<kind>-<file>``), so
the Prefect UI's Artifacts page shows each one's history across runs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from flows.run_summary import Snapshot, gap_matrix, run_markdown


def leave_run_artifacts(warehouse: Path, synced: Sequence[Any], before: Snapshot,
                        files: Sequence[Path], round_code: str | None = None) -> None:
    """The run's summary, its gap matrix and a link to every file written."""
    create_markdown_artifact(run_markdown(warehouse, synced, before, files),
                             key="aimak-run-summary",
                             description="Submissions, exclusions, new flags and changed gaps")
    matrix = gap_matrix(warehouse, round_code)
    if matrix:
        create_table_artifact(matrix, key="aimak-gap-matrix",
                              description="Gap S - E and status per municipality x service")
    link_files(files, "report")


def link_files(paths: Iterable[Path], kind: str) -> None:
    """A link artifact to each file (a ``file://`` URL on the machine that ran the flow)."""
    for path in paths:
        path = Path(path).absolute()
        create_link_artifact(path.as_uri(), link_text=path.name, key=artifact_key(kind, path),
                             description=f"{kind}: {path.name}")


def artifact_key(kind: str, path: Path) -> str:
    """A key Prefect accepts (lowercase letters, digits, dashes) naming the file."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", f"aimak-{kind}-{path.stem}".lower())).strip("-")
