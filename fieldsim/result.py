"""What a simulated fieldwork run did, and the summary ``aimak simulate`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fieldsim.fieldwork import Visit


@dataclass
class SimulationResult:
    out_dir: Path
    truth_path: Path
    forms: dict[str, str]  # form id -> asset uid
    xforms: dict[str, Path]  # form id -> the deployed XForm as downloaded
    visits: list[Visit]
    filled: int = 0
    posted: int = 0  # posts the server answered (201 or 202), first tries and later rounds
    accepted: int = 0
    duplicates: int = 0
    edited: int = 0
    deleted: int = 0
    queued: int = 0  # instances that could not be sent at once and went to the outbox
    sent_later: int = 0  # instances sent from the outbox in a later round
    unsent: list[str] = field(default_factory=list)  # instance ids still in the outbox
    outbox: Path | None = None
    resumed: bool = False  # this run only sent what an earlier run kept in the outbox
    validation: dict[str, int] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=dict)  # form id -> records on the server
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.posted / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        live = ", ".join(f"{k} {v}" for k, v in self.live.items())
        if self.resumed:
            lines = [f"sent {self.sent_later} instance(s) kept in {self.outbox} by an earlier run: "
                     f"{self.accepted} accepted, {self.duplicates} duplicates; {self.deleted} "
                     "deleted by the supervisors"]
        else:
            lines = [f"filled {self.filled} instances with JavaRosa and posted {self.posted} in "
                     f"{self.seconds:.1f} s ({self.rate:.0f}/s): {self.accepted} accepted, "
                     f"{self.duplicates} duplicates, {self.edited} edits; {self.deleted} deleted"]
            if self.queued:
                lines.append(f"{self.queued} instance(s) could not be sent at first (the server "
                             f"could not be reached or gave 5xx) and waited in the outbox; "
                             f"{self.sent_later} of them were sent in later rounds")
        lines += [f"records on the server: {live}", f"truth: {self.truth_path}"]
        if self.unsent:
            lines.append(f"unsent: {len(self.unsent)} instance(s) are still in {self.outbox} (the "
                         "server could not be reached or gave 5xx). Run the same 'aimak simulate' "
                         "again (same --out, --seed and --respondents) to send them; the "
                         "supervisors' deletions and validation statuses follow.")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)
