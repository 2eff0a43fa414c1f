"""The pytest plugin of the bench: runs OCTT case modules against the station under test."""

from bench.plugin.context import BenchContext, Case
from bench.plugin.plugin import BenchPlugin
from bench.plugin.verdicts import BenchFault, StationNonConformance

__all__ = ["BenchContext", "BenchFault", "BenchPlugin", "Case", "StationNonConformance"]
