"""Qt adapters of captioning: the QThread-backed service that drives a worker process."""
