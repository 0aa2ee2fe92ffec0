"""Looking inside a run: metrics, evaluation, diagnostics, advice and the boundary grid (grid)."""
