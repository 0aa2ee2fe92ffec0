"""Training: the Trainer's loop, what it records, time travel, races and speed measurement."""
