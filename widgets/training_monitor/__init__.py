"""The Training monitor dock: progress, loss chart, samples, checkpoints, log, queue and history."""
