"""Lessons: each a claim about training, checked by running its variants headless."""
