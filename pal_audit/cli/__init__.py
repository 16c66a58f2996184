"""The `pal-audit` command line."""
