"""Prefect flows and the ``aimak`` command line: thin wiring over the other packages."""
