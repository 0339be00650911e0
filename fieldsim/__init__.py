"""Field simulation: the KoboToolbox-compatible local server and the simulated field team.

The product packages never import this package.
"""
