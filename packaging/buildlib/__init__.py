"""The pieces of ``packaging/build.py``: the bundle, its payload, the .deb, the .run, the NSIS installer.

``packaging/`` is deliberately not a Python package (it would shadow PyPI's ``packaging``); build.py,
the spec and the tests put this folder on ``sys.path`` and import ``buildlib``.
"""
