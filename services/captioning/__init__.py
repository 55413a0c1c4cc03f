"""Auto-captioning: captioner families and options (as data), jobs, the worker protocol and driver.

Plain Python shared by the GUI, the CLI and the worker processes (``workers.captioning``). The
Qt driver lives in ``services.captioning.qt``.
"""
