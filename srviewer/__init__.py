"""srviewer: compare x4 super-resolution methods by eye and by numbers."""

__version__ = "0.1.0"
