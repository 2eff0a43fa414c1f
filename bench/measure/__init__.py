"""Measurements: first-class records with units, limits from data, statistics and an outcome."""

from bench.measure.model import Limits, Measurement, Outcome, SeriesStats, series_stats

__all__ = ["Limits", "Measurement", "Outcome", "SeriesStats", "series_stats"]
