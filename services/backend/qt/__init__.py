"""Qt adapters of the backend setup: its blocking work in a QThread, reported through signals."""
