"""Training: the loop, optimisers and schedules, checkpoints, metrics, the run directory."""
