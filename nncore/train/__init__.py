"""Training: the Trainer's loop (trainer), what it records (recording, snapshot), time travel (timetravel),
changing a run mid-way (steering), early stopping (stopping), races (race) and speed measurement (bench)."""
