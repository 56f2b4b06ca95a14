"""Job names shared by the code location, automation and the CLI."""

MONTHLY_CLOSE = "monthly_close"
