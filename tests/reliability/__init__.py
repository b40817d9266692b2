"""The reliability suite: every promise about data safety, proved by attacking the whole system.

Run it alone with ``python -m pytest tests/reliability``; docs/reliability.md lists each fault, what
calmtrace does about it, what is lost at most, and the test that proves it.
"""
