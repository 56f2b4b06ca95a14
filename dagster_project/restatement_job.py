"""The restatement as a job the capital markets team launches from the UI
(Launchpad: period, cutoff and reason), doing exactly what `funding restate`
does: record the later cutoff, then run the period and every later closed
period, one after the other, as monthly_close runs of the same instance."""

import dagster as dg
from pydantic import Field


class RestatementConfig(dg.Config):
    period: str = Field(description="The closed period to restate, YYYY-MM.")
    cutoff: str = Field(
        description='The later ledger cutoff, "YYYY-MM-DD HH:MM:SS" (UTC), after the period\'s close.'
    )
    reason: str = Field(description="Why, in words an investor reads; it goes into the manifests.")


@dg.op(
    description="Records the restated cutoff and re-runs the period and every later closed period."
)
def restate_period(context: dg.OpExecutionContext, config: RestatementConfig) -> dg.Output:
    from dagster_project.runner import UsageError, describe, restate
    from dagster_project.settings import Settings

    try:
        reports = restate(
            Settings.from_env(),
            config.period,
            config.cutoff,
            config.reason,
            instance=context.instance,
            say=context.log.info,
        )
    except UsageError as exc:
        raise dg.Failure(description=str(exc)) from None
    summary = "\n\n".join(describe(r) for r in reports)
    if not all(r.success for r in reports):
        raise dg.Failure(description=summary)
    return dg.Output(
        None,
        metadata={
            "periods": dg.MetadataValue.text(", ".join(str(r.period) for r in reports)),
            "outcome": dg.MetadataValue.md(f"```\n{summary}\n```"),
        },
    )


def restatement_job() -> dg.JobDefinition:
    @dg.job(
        name="restatement",
        description="Restate a closed period with a later ledger cutoff (ledger.md): records it "
        "durably, re-runs it and every later closed period, publishes a new version of every "
        "package whose data changed, with the reason, and tells investors.",
    )
    def restatement() -> None:
        restate_period()

    return restatement
