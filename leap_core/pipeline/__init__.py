"""Stage work as plain functions: what each Dagster asset calls (and any other orchestrator could)."""
