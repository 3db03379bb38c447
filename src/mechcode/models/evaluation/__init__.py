"""Measuring suggestion models: evaluation protocols, transfer curves, metrics and calibration."""
