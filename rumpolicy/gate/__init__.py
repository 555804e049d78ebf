"""The ingestion gate: PutRumEvents validated like the service, decided with the app monitor's
resource policy, stored durably, answered as AWS clients expect.

    from rumpolicy.gate import Gate, Origin
    gate = Gate("data")                                  # or Gate() in memory
    monitor_id = gate.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    gate.put_resource_policy(Name="shop", PolicyDocument=text)
    result = gate.put_rum_events(monitor_id, body_bytes, Origin(source_ip="203.0.113.9"))
    result.status, result.error, result.decision

Over HTTP: `rumpolicy.gate.app.create_app(gate)` (Starlette), or `rumpolicy serve`.
"""

from rumpolicy.gate.config import ConfigError, Credential, GateConfig, load_config
from rumpolicy.gate.context import Identity, Origin
from rumpolicy.gate.errors import GateError
from rumpolicy.gate.gate import AppMonitor, Gate, PutResult
from rumpolicy.gate.storage import Storage, StoredBatch, StoredEvent

__all__ = [
    "AppMonitor",
    "ConfigError",
    "Credential",
    "Gate",
    "GateConfig",
    "GateError",
    "Identity",
    "Origin",
    "PutResult",
    "Storage",
    "StoredBatch",
    "StoredEvent",
    "load_config",
]
