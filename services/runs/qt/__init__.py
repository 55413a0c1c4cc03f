"""Qt adapters of the training runs: the streaming service (a QThread) and the queue runner."""
