"""The engine: signs in, collects snapshots through the Azure SDKs, runs the checks."""
