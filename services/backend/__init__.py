"""The training backend: the runtime that runs sd-scripts and the workers, its install, verify and repair.

``runtime`` locates and describes it (cheap, file-system only); the rest installs and checks it.
See docs/backend-api.md.
"""
