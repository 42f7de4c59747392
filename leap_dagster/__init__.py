"""LEAP's orchestration: Dagster assets, sensors and resources over `leap_core`."""

from leap_dagster.pool_wait import sleep_while_waiting_for_pools

sleep_while_waiting_for_pools()
