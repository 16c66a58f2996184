"""The estate file: what armsim's Azure contains (design.md §10), loaded and validated.

Every problem is reported as `FILE: path.in.file: what is wrong`, and unknown keys are errors,
so a typo in a test estate never silently changes what the simulator serves.

This module is the public face of the estate: the dataclasses live in `armsim.estate_model`, the
parser in `armsim.estate_parser` (with its readers `estate_fields`, `estate_principals`,
`estate_rbac` and `estate_faults`).
"""

from armsim.estate_fields import GUID
from armsim.estate_model import (
    DEFAULT_IDENTITY_HEADER,
    Assignment,
    Certificate,
    Estate,
    EstateError,
    FailRule,
    FederatedCredential,
    Partner,
    Principal,
    Subscription,
    Tenant,
    Throttle,
)
from armsim.estate_parser import load_estate, parse_estate
from armsim.estate_principals import PRINCIPAL_TYPES

__all__ = [
    "DEFAULT_IDENTITY_HEADER",
    "GUID",
    "PRINCIPAL_TYPES",
    "Assignment",
    "Certificate",
    "Estate",
    "EstateError",
    "FailRule",
    "FederatedCredential",
    "Partner",
    "Principal",
    "Subscription",
    "Tenant",
    "Throttle",
    "load_estate",
    "parse_estate",
]
