"""X API v2 simulator: a deterministic fake of the endpoints tweetlake reads.

Every test, the demo and the benchmarks see the X API through it. It is a test oracle, so it
shares no code with the client it checks (`ingestion/`) nor with anything else of tweetlake.
`world` ties the simulated world together (`accounts`, `posts`, `timeline`, `rendering`,
`metrics`, `objects`); `api` is the HTTP surface (`endpoints`, `search`, `parameters`,
`expansions`, `errors`, `pagination`, `control`) and `billing` what it charges; `server` the
socket around it.
"""

from xsim.accounts import (
    HEAVY_INDEX,
    PROTECTED_INDEX,
    QUIET_INDEX,
    RENAMED_INDEX,
    SUSPENDED_INDEX,
    Account,
)
from xsim.billing import Billing, BillingConfig
from xsim.clock import SimClock
from xsim.faults import FaultConfig, Faults
from xsim.server import SimulatorServer
from xsim.stats import Stats
from xsim.timeutil import id_from_time, time_from_id
from xsim.world import World

__all__ = [
    "HEAVY_INDEX",
    "PROTECTED_INDEX",
    "QUIET_INDEX",
    "RENAMED_INDEX",
    "SUSPENDED_INDEX",
    "Account",
    "Billing",
    "BillingConfig",
    "FaultConfig",
    "Faults",
    "SimClock",
    "SimulatorServer",
    "Stats",
    "World",
    "id_from_time",
    "time_from_id",
]
