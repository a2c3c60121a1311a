"""The fault types, one per module, and the registry that builds them from rule settings."""
from .bandwidth import BandwidthFault
from .base import (BufferedResponse, ErrorBody, Exchange, Fault, FaultSettingsError,
                   generic_error_body)
from .db_disconnect import DbDisconnectFault
from .db_error import DbErrorFault
from .cut import CutFault
from .db_latency import DbLatencyFault
from .delivery import DeliveryFault, DeliveryPlan
from .error import ErrorFault
from .latency import LatencyFault
from .malformed import MalformedFault
from .offline import OfflineFault
from .reset import ResetFault
from .timeout import TimeoutFault
from .webhook_delay import WebhookDelayFault
from .webhook_drop import WebhookDropFault
from .webhook_duplicate import WebhookDuplicateFault
from .webhook_reorder import WebhookReorderFault

FAULTS: dict[str, type[Fault]] = {cls.type: cls for cls in
                                  (LatencyFault, ErrorFault, ResetFault, TimeoutFault,
                                   MalformedFault, DbLatencyFault, DbErrorFault,
                                   DbDisconnectFault, BandwidthFault, CutFault, OfflineFault,
                                   WebhookDelayFault, WebhookDuplicateFault,
                                   WebhookReorderFault, WebhookDropFault)}


def build_fault(spec: dict) -> Fault:
    """Build a fault from a rule's `fault` object ({"type": ..., **settings})."""
    settings = dict(spec)
    kind = settings.pop("type", None)
    if kind not in FAULTS:
        raise FaultSettingsError("type", f"unknown fault type {kind!r}; one of "
                                         f"{', '.join(sorted(FAULTS))}")
    return FAULTS[kind].from_settings(settings)


__all__ = ["FAULTS", "BandwidthFault", "BufferedResponse", "CutFault", "DbDisconnectFault",
           "DbErrorFault", "DbLatencyFault", "DeliveryFault", "DeliveryPlan",
           "ErrorBody", "ErrorFault", "Exchange", "Fault",
           "FaultSettingsError", "LatencyFault", "MalformedFault", "OfflineFault", "ResetFault",
           "TimeoutFault", "build_fault", "generic_error_body"]
