"""Domain core of the funding platform: pure functions over Polars frames,
dataclasses, integer cents and exact fractions. Knows nothing of Dagster."""
