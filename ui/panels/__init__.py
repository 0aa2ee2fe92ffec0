"""Panels that show a run: status, charts, and each page's own panels (images, lessons, race, search...)."""
