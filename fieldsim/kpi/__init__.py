"""Old import path of the local server, kept so existing callers keep working.

The server lives in :mod:`fieldsim.server`; import ``LocalServer`` from there.
"""

from fieldsim.server import LocalServer, serve

__all__ = ["LocalServer", "serve"]
