"""One dynamic partition per recording, keyed by the recording's readable `partition_key`."""

from dagster import DynamicPartitionsDefinition

RECORDINGS = "recordings"
"""The definition's name, as the instance's partition calls take it."""

recordings = DynamicPartitionsDefinition(name=RECORDINGS)
