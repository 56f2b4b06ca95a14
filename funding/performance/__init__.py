"""Pool performance and analytics: ratio definitions and their evaluator
(`ratios`), pool measures, roll-forward and delinquency (`pool`),
stratifications, vintage curves, roll rates and trends (`analytics`).

metrics.md names the evaluator `funding.performance.compute_ratios`."""

from funding.performance.ratios import compute_ratios

__all__ = ["compute_ratios"]
