"""A KoboToolbox-compatible local server: KPI API v2 and OpenRosa on one port.

``LocalServer`` runs it in a background thread (tests, the demo, benchmarks); ``serve`` runs it
until Ctrl+C (``aimak server``). Data persists in a folder, so a restarted server keeps its users,
forms and submissions.
"""

from fieldsim.server.runner import LocalServer, serve

__all__ = ["LocalServer", "serve"]
