"""Extraction: settings, the KoboToolbox client, deployment, sync and normalisation."""

from aimak.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
