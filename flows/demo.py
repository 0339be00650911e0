"""The ``aimak-demo`` Prefect flow: :func:`flows.stages.demo` (local server, forms built and
deployed, simulated fieldwork, sync; outputs in OUT) as one flow run. The stages inside talk to
the demo's own local server, whose token is passed to them as an object: it never becomes a
flow parameter and never enters the process environment."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows import stages


@flow(name="aimak-demo")
def demo_flow(out: str = "out/demo", respondents: int | None = None, seed: int = 2026) -> stages.DemoResult:
    result = stages.demo(Path(out), respondents, seed)
    get_run_logger().info(result.summary())
    return result
