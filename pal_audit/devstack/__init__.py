"""Local stand-ins for the cloud pieces pal-audit needs (dev, tests and `pal-audit demo`)."""

from pal_audit.devstack.azurite import Azurite, AzuriteError, running_azurite

__all__ = ["Azurite", "AzuriteError", "running_azurite"]
