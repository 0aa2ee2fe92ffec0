"""Hyperparameter search with Optuna: the search space, studies, resuming."""
