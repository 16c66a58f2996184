"""`python -m pal_audit.cli` runs the command line (the same as the `pal-audit` script)."""

from pal_audit.cli.main import main

main()
