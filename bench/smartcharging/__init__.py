"""Smart Charging as the bench understands it: charging profiles, the composite schedule the
bench computes itself from the installed profiles (OCPP 1.6 §3.13), and its comparison with
the station's GetCompositeSchedule answer."""

from bench.smartcharging.compare import compare_composite
from bench.smartcharging.composite import Composite, Step, composite_schedule
from bench.smartcharging.profiles import ChargingProfile, ProfileError, SchedulePeriod

__all__ = ["ChargingProfile", "Composite", "ProfileError", "SchedulePeriod", "Step",
           "compare_composite", "composite_schedule"]
