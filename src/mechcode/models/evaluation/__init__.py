"""Measuring suggestion models: evaluation protocols, transfer curves and metrics.

Evaluation imports the backends, never the reverse (checked in ``tests/test_architecture.py``).
"""
