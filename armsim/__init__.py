"""armsim: a local HTTPS simulator of Azure Resource Manager and Entra ID for tests, demo and benchmarks.

A development tool: production code never imports it.
"""

from armsim.estate import Estate, EstateError, load_estate, parse_estate
from armsim.server import ArmSimServer, Cloud, Simulator

__all__ = ["ArmSimServer", "Cloud", "Estate", "EstateError", "Simulator", "load_estate", "parse_estate"]
