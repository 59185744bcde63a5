"""Developer scripts run from the repository (not installed): ``python -m scripts.demo`` and set-up helpers."""
