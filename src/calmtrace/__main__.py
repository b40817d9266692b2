"""``python -m calmtrace``: the same program as the ``calmtrace`` command."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
