"""Training core: the parameter registry, model detection, validation, profiles, project files,
and the emission of sd-scripts run folders. Plain Python, no Qt (see docs/training-core-api.md)."""
