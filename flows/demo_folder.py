"""The demo's folder: what ``aimak demo`` may write there, replace or reuse, and nothing else.

A demo folder carries a marker (:data:`DEMO_MARK`). A new or empty folder gets one; an earlier
demo's folder is reused as it is when that demo finished with the same parameters (its server
data, warehouse and simulated fieldwork are kept, so a second demo sends nothing twice and only
re-runs the pipeline), and otherwise loses :data:`DEMO_PATHS` and the workbooks Aimak wrote there;
any other folder is refused and left exactly as it was. No Prefect import here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from aimak.errors import ConfigError
from reports.workbook import written_by_aimak

DEMO_MARK = ".aimak-demo"
MARTS = "marts.db"  # the marts published to SQLite, as dashboards would read them
DEMO_STATE = "demo.json"  # written when a demo's fieldwork is complete: what it was run with
# what a demo writes into its folder (the warehouse's landing and attachments folders sit beside
# the warehouse); nothing else is ever removed from it, but the deliverables Aimak wrote
DEMO_PATHS = ("forms", "server", "simulation", "landing", "attachments", "followup",
              "warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.tmp", MARTS, DEMO_STATE)
DELIVERABLES = ("*.xlsx", "*.docx")


def prepare_folder(folder: Path, parameters: dict[str, Any] | None = None) -> bool:
    """Make ``folder`` ready for a demo run with ``parameters``; return True when an earlier
    demo with the same parameters finished there and is reused as it is. Otherwise the folder is
    created (with the marker) when missing or empty, or an earlier demo's folder (marked, or
    holding nothing but a demo's paths) loses its own files; any other folder is refused with
    :class:`ConfigError`: aimak never deletes what it did not write."""
    folder = Path(folder)
    check_folder(folder)
    if parameters is not None and finished_with(folder) == parameters:
        return True
    for name in DEMO_PATHS:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for pattern in DELIVERABLES:
        for path in folder.glob(pattern):
            if path.is_file() and not path.is_symlink() and written_by_aimak(path):
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARK).write_text("Written by 'aimak demo': a later demo may replace its own "
                                    f"files here ({', '.join(DEMO_PATHS)}) and the workbooks "
                                    "Aimak wrote; nothing else.\n", encoding="utf-8")
    return False


def check_folder(folder: Path) -> None:
    """Refuse, changing nothing, a folder the demo may not write into: a file, or a folder holding
    anything a demo did not write (checked before the demo starts anything)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder}: this is a file, not a folder; nothing was changed. "
                          "Fix: give a new or empty folder.")
    entries = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    # an unmarked folder holding only what a demo writes is a demo's from before the marker
    if entries and DEMO_MARK not in entries and not set(entries) <= set(DEMO_PATHS):
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ConfigError(f"--out {folder}: the folder holds files the demo did not write "
                          f"({shown}); nothing was deleted. Fix: give a new or empty folder, or "
                          "the folder of an earlier demo.")


def finished_with(folder: Path) -> dict[str, Any] | None:
    """The parameters of the demo whose fieldwork finished in ``folder`` (None: none did)."""
    state = Path(folder) / DEMO_STATE
    if not (Path(folder) / DEMO_MARK).exists() or not state.exists():
        return None
    if not (Path(folder) / "server").is_dir() or not (Path(folder) / "warehouse.duckdb").exists():
        return None
    try:
        return json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def mark_finished(folder: Path, parameters: dict[str, Any]) -> None:
    """Record that the demo's fieldwork with ``parameters`` is complete in ``folder``."""
    (Path(folder) / DEMO_STATE).write_text(json.dumps(parameters, sort_keys=True) + "\n",
                                           encoding="utf-8")
