"""Thin Dagster assets, one module per stage: read inputs through resources,
call `funding`, write outputs, return metadata and check results."""
