"""LEAP's domain library: models, state machines, quotas, stages and the Python API. Never imports Dagster."""
