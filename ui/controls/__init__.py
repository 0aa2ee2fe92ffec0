"""Controls that build a run: the sidebar, uploaded tables, drawn data, model files."""
