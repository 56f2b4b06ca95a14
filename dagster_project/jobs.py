"""Job names shared by the code location, automation and the CLI."""

MONTHLY_CLOSE = "monthly_close"


def monthly_close_job():
    """The monthly_close job of the settings in the environment, for runs in
    other processes (`dg.reconstructable` needs a module-level function)."""
    from dagster_project.definitions import build_definitions
    from dagster_project.settings import Settings

    return build_definitions(Settings.from_env()).resolve_job_def(MONTHLY_CLOSE)
