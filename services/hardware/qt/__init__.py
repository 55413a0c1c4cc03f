"""Qt adapters of the hardware services: the GPU monitor's sampling thread, the system report worker."""
