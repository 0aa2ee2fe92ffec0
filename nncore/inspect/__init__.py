"""Looking inside a run: metrics, evaluation, diagnostics, the gradient check and advice."""
