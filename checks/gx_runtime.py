"""The Great Expectations runtime: one ephemeral context per process, a
pandas data source with a whole-frame batch, the column-type expectation
over Polars types, and the conversion of a Polars frame into what GX
validates.

GX takes seconds to import: it is imported only inside these functions,
never at module import.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import polars as pl

from checks.outcome import MAX_OFFENDING_ROWS

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

PERSONAL_COLUMNS_PARAMETER = "columns_not_personal_data"
FRAME_TYPES_PARAMETER = "frame_types"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_OFFENDING_ROWS}


@cache
def column_types_expectation() -> type:
    """`ExpectTableColumnsToHavePolarsTypes`: every contract column of its
    contract type, over the Polars types of the frame being checked.

    The pandas copy GX validates cannot show them (an integer column with
    nulls becomes float64, a decimal object), and GX's pandas
    `ExpectColumnTypeToBe` cannot even name a parameterised Arrow type
    (`decimal128(18, 2)[pyarrow]` raises in `pandas_dtype`). So `run_suite`
    passes the frame's Polars type names as the suite parameter `frame_types`
    and this table expectation compares the contract's names with them in one
    pass: one expectation per column cost GX about 2 ms each to plan, a third
    of a small period's validation. A contract column the frame lacks is
    reported as missing (and by `columns_present`).
    """
    from great_expectations.core.suite_parameters import SuiteParameterDict
    from great_expectations.expectations.expectation import BatchExpectation

    class ExpectTableColumnsToHavePolarsTypes(BatchExpectation):
        column_types: dict
        frame_types: dict | SuiteParameterDict

        metric_dependencies = ("table.columns",)
        success_keys = ("column_types", "frame_types")
        args_keys = ("column_types", "frame_types")

        def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
            declared = self._get_success_kwarg("column_types")
            actual = self._get_success_kwarg("frame_types")
            mismatched = {
                column: {"expected": expected, "observed": actual.get(column, "missing")}
                for column, expected in declared.items()
                if actual.get(column) != expected
            }
            return {
                "success": not mismatched,
                "result": {
                    "observed_value": {c: m["observed"] for c, m in mismatched.items()},
                    "details": {"mismatched_types": mismatched},
                },
            }

    # Annotations are strings here (`from __future__ import annotations`).
    ExpectTableColumnsToHavePolarsTypes.update_forward_refs(SuiteParameterDict=SuiteParameterDict)
    return ExpectTableColumnsToHavePolarsTypes


def new_suite(name: str, expectations: list) -> ExpectationSuite:
    import great_expectations as gx

    context()  # a GX 1.x suite needs an active context, even one never saved
    return gx.ExpectationSuite(name=name, expectations=expectations)


@cache
def context():
    """One ephemeral (in-memory) GX context per process, without progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


@cache
def batch_definition():
    """A pandas data source with one whole-dataframe batch definition."""
    asset = context().data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def for_gx(frame: pl.DataFrame) -> tuple[Any, dict[str, int]]:
    """The pandas copy GX validates, and the decimal scales.

    NumPy-backed, because GX's pandas engine is vectorised only there: on
    Arrow-backed or nullable columns its range checks call Python per value
    and its batch fingerprint hashes value by value (1M rows: 33 s against
    about 10 s). Decimals go in as their exact unscaled integers (cents), so
    sums compare exactly; sample values are scaled back for the summary."""
    scales = {c: t.scale for c, t in frame.schema.items() if isinstance(t, pl.Decimal)}
    if scales:
        frame = frame.with_columns(pl.col(c).to_physical().cast(pl.Int64) for c in scales)
    return frame.rechunk().to_pandas(), scales


def validate(
    frame: pl.DataFrame, suite: ExpectationSuite, parameters: dict
) -> tuple[Any, dict[str, int]]:
    """Validate `frame` against `suite` in one GX call; the result and the
    decimal scales of the frame's columns (see `for_gx`)."""
    pandas_frame, scales = for_gx(frame)
    batch = batch_definition().get_batch(batch_parameters={"dataframe": pandas_frame})
    result = batch.validate(suite, result_format=RESULT_FORMAT, expectation_parameters=parameters)
    return result, scales
