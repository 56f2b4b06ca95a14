"""Blocking checks and expectation suites. Each check returns a `CheckOutcome`
that names the period, the check and the offending rows; assets turn outcomes
into Dagster asset check results."""
