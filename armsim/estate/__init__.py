"""The estate file: what armsim's Azure contains, loaded and validated.

Every problem is reported as `FILE: path.in.file: what is wrong`, and unknown keys are errors,
so a typo in a test estate never silently changes what the simulator serves.

This package's face: the dataclasses live in `model`, the parser in `parser`, with its readers
`fields` (typed primitives), `principals`, `rbac` (custom roles and assignments) and `faults`.
"""

from armsim.estate.fields import GUID
from armsim.estate.model import (
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
from armsim.estate.parser import load_estate, parse_estate
from armsim.estate.principals import PRINCIPAL_TYPES

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
