"""LEAP's orchestration: Dagster assets, sensors and resources over `leap_core`."""
