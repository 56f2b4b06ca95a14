"""Alerts about runs: a failed run and each failed blocking check in it,
read from the run's events. The CLI sends them when its run fails; in the
team's deployment the run-failure sensor does (the daemon runs it); the
control store's claims make either one send each alert once."""

from __future__ import annotations

import dagster as dg

from dagster_project.resources import ControlResource, MailResource
from funding.outputs.alerts import Alert, AlertLog, send_alerts


def run_alerts(instance: dg.DagsterInstance, run_id: str) -> list[Alert]:
    """The alerts a failed run raises: one per failed blocking check (naming
    its vehicle and summary) and one for the run with its failed steps."""
    run = instance.get_run_by_id(run_id)
    period = run.tags.get("dagster/partition", "-") if run else "-"
    alerts, steps = [], []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
                continue
            path = evaluation.asset_key.path
            summary = evaluation.metadata.get("summary")
            alerts.append(
                Alert(
                    "check_failed",
                    path[0] if len(path) > 1 else "all vehicles",
                    period,
                    f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                    f"failed: {summary.value if summary else evaluation.description}",
                    f"{run_id}/{evaluation.asset_key.to_user_string()}/{evaluation.check_name}",
                )
            )
        elif event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            steps.append(f"step {event.step_key} failed: {error.message.strip() if error else '?'}")
    cause = "\n".join(steps) or "the run failed; its failed checks are alerted separately"
    alerts.append(
        Alert(
            "run_failed", "all vehicles", period, f"run {run_id} failed.\n{cause}", f"{run_id}/run"
        )
    )
    return alerts


def send_run_alerts(
    instance: dg.DagsterInstance, run_id: str, mail: MailResource, control: ControlResource
) -> list[Alert]:
    return send_alerts(
        run_alerts(instance, run_id),
        AlertLog(control.store),
        mail.mailer(),
        mail.alert_from,
        mail.alert_recipients,
    )


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Emails ALERT_TO when a run of this code location fails (monthly_close, "
    "restatement): the run's failed steps and each failed blocking check, naming vehicle, "
    "period and cause, once per run.",
)
def run_failure_alerts(
    context: dg.RunFailureSensorContext, mail: MailResource, control: ControlResource
) -> None:
    sent = send_run_alerts(context.instance, context.dagster_run.run_id, mail, control)
    context.log.info(f"alerts sent: {len(sent)}")
