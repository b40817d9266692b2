"""The version of calmtrace, in one place (read by pyproject.toml and written into outputs)."""

__version__ = "0.1.0"
