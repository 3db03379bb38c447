"""Suggestion backends, one module per backend, and what they share (the codebook prior, heads,
features, calibrators).

A backend is named in :data:`mechcode.models.registry.BACKENDS` and imported only when used.
"""
