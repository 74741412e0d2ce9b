"""Training: the accelerate loop, its objective, EMA, schedule and checkpoints."""
