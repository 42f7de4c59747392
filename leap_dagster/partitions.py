"""One dynamic partition per recording, keyed by the recording's readable `partition_key`."""

from dagster import DynamicPartitionsDefinition

recordings = DynamicPartitionsDefinition(name="recordings")
