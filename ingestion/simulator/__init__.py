"""X API v2 simulator: a deterministic fake of the endpoints tweetlake reads.

Every test, the demo and the benchmarks see the X API through it. See `world.py` for the
world model and the special accounts, `api.py` for the HTTP surface.
"""

from ingestion.simulator.clock import SimClock
from ingestion.simulator.faults import FaultConfig, Faults
from ingestion.simulator.server import SimulatorServer
from ingestion.simulator.stats import Stats
from ingestion.simulator.timeutil import id_from_time, time_from_id
from ingestion.simulator.world import (
    HEAVY_INDEX,
    PROTECTED_INDEX,
    QUIET_INDEX,
    RENAMED_INDEX,
    SUSPENDED_INDEX,
    Account,
    World,
)

__all__ = [
    "HEAVY_INDEX",
    "PROTECTED_INDEX",
    "QUIET_INDEX",
    "RENAMED_INDEX",
    "SUSPENDED_INDEX",
    "Account",
    "FaultConfig",
    "Faults",
    "SimClock",
    "SimulatorServer",
    "Stats",
    "World",
    "id_from_time",
    "time_from_id",
]
