"""Aimak: municipal performance studies on KoboToolbox/ODK.

This small package holds what every layer shares: the version and the error hierarchy.
The layers themselves are the top-level packages ``forms``, ``etl``, ``warehouse``,
``reports``, ``flows`` and ``fieldsim`` (see README.md, "Layout").
"""

__version__ = "0.1.0"
