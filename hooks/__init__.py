"""Git hook entry points, called through the pre-commit framework."""
