"""Benchmarks of prodstack's offline engine and component overhead (``python -m benchmarks``).

Not a test suite: every number comes from fresh subprocesses and is reported, never asserted.
See docs/performance.md.
"""
