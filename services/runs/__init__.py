"""Training runs: the output parser, launching and stopping the engine, diagnosis, queue and history.

Plain Python (no Qt): the GUI drives it through the adapters in ``services.runs.qt`` and the
terminal through ``app/cli/train.py`` -- the same code either way.
"""
