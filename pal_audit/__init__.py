"""pal-audit: audits Partner Admin Link (PAL) attribution across managed Azure tenants."""

__version__ = "0.1.0"
