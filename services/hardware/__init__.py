"""Hardware: GPU and CPU detection, live readings, the system report, dependency verification.

Plain Python (no Qt); the sampling thread lives in ``services.hardware.qt``. The API is described
in docs/hardware-api.md.
"""
