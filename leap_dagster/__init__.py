"""LEAP's orchestration: Dagster assets, sensors and resources over `leap_core`."""

from leap_dagster.pool_wait import sleep_while_waiting_for_pools
from leap_dagster.sqlite_pools import claim_pool_slots_in_turn

sleep_while_waiting_for_pools()
claim_pool_slots_in_turn()
