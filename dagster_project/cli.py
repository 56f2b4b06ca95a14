"""`funding`: the commands people and scripts run by hand.

funding seed    writes a synthetic ledger (the demo's)
funding run     materializes every asset for closed periods, in period order
funding restate restates a closed period with a later ledger cutoff
funding verify  checks a published package against its manifest

Errors print as one line that says what to fix; the traceback goes to
`var/logs/funding.log` for whoever is on call.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import traceback
from datetime import UTC, datetime

from dagster_project.settings import Settings


def _add_seed(sub, settings: Settings) -> None:
    from funding.demo import SeedConfig
    from funding.demo.scenario import SCENARIOS

    defaults = SeedConfig()
    parser = sub.add_parser(
        "seed",
        help="write a synthetic ledger into a fresh database",
        description="Writes the demo's synthetic ledger into a fresh database and, for the "
        "demo, a tape key into var/ (used when TAPE_HMAC_KEY is not set and FUNDING_DEMO=1).",
    )
    parser.add_argument("--url", default=settings.ledger_url, help="SQLAlchemy URL of the ledger")
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--months", type=int, default=defaults.months)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--first-period", default=defaults.first_period.key, help="first month, YYYY-MM"
    )
    parser.add_argument(
        "--scenario",
        default=defaults.scenario,
        choices=SCENARIOS,
        help="base: a healthy book; stress: a downturn from the third month that breaches "
        "the trust's excess spread trigger (early amortization)",
    )
    parser.set_defaults(handler=_seed)


def _seed(args, settings: Settings) -> int:
    from funding.demo import SeedConfig, seed_ledger
    from funding.ledger.database import redact
    from funding.period import Period

    config = SeedConfig(
        accounts=args.accounts,
        months=args.months,
        seed=args.seed,
        first_period=Period.parse(args.first_period),
        scenario=args.scenario,
    )
    report = seed_ledger(args.url, config)
    print(
        f"seeded {redact(args.url)}: {config.accounts:,} accounts, {config.months} months from "
        f"{config.first_period} ({config.scenario} scenario, after {config.history_months} months "
        f"of history), {report.total_rows:,} rows in {report.seconds:.1f}s "
        f"({report.total_rows / max(report.seconds, 1e-9):,.0f} rows/s)"
    )
    key_file = settings.tape_key_file
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32) + "\n")
        key_file.chmod(0o600)
        print(f"demo tape key written to {key_file} (used when TAPE_HMAC_KEY is not set)")
    return 0


def _add_run(sub, settings: Settings) -> None:
    parser = sub.add_parser(
        "run",
        help="materialize every asset for closed periods, oldest first",
        description=(
            "Runs the monthly_close job for each closed period asked (default: every closed "
            "period without a successful run yet) in period order, through the Dagster "
            "instance in DAGSTER_HOME, and prints where the outputs are. Stops at the first "
            "period that fails: later periods build on it."
        ),
    )
    parser.add_argument("--period", help="first period to run, YYYY-MM")
    parser.add_argument("--through", help="last period to run, YYYY-MM")
    parser.add_argument(
        "--rerun", action="store_true", help="run periods that already succeeded too"
    )
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="run the steps of a period in two processes (vehicles side by side)",
    )
    parser.set_defaults(handler=_run)


def _run(args, settings: Settings) -> int:
    from dagster_project.runner import run_command

    return run_command(settings, args.period, args.through, args.rerun, args.parallel)


def _add_restate(sub, settings: Settings) -> None:
    parser = sub.add_parser(
        "restate",
        help="restate a closed period with a later ledger cutoff",
        description=(
            "Records that PERIOD is read at the later CUTOFF from now on (durably, in "
            "CONTROL_URI), then re-runs it and every later closed period: each later period's "
            "cutoff becomes the later of its own close and CUTOFF. Every package whose data "
            "changes is published as a new version with the reason and what changed; investors "
            "are told. Exit 2 when the period is not closed or the cutoff is not later than its "
            "current one."
        ),
    )
    parser.add_argument("--period", required=True, help="the period to restate, YYYY-MM")
    parser.add_argument(
        "--cutoff", required=True, help='the new cutoff, "YYYY-MM-DD HH:MM:SS" (UTC)'
    )
    parser.add_argument("--reason", required=True, help="why, in words an investor reads")
    parser.set_defaults(handler=_restate)


def _restate(args, settings: Settings) -> int:
    from dagster_project.runner import restate_command

    return restate_command(settings, args.period, args.cutoff, args.reason)


def _add_verify(sub, settings: Settings) -> None:
    parser = sub.add_parser(
        "verify",
        help="check a published package against its manifest",
        description=(
            "Checks every file of a package (SHA-256, size, row count) against its manifest. "
            "PACKAGE is {root}/{vehicle}/{YYYY-MM}[/vN] as a folder path or s3:// URI; without "
            "vN the version latest.json points at is checked."
        ),
    )
    parser.add_argument("package", metavar="PACKAGE")
    parser.set_defaults(handler=_verify)


def _verify(args, settings: Settings) -> int:
    from funding.outputs.publish import verify_location

    try:
        problems = verify_location(args.package)
    except ValueError as exc:
        print(exc)
        return 2
    if problems:
        print(f"{args.package}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(
        f"{args.package}: every file matches its manifest "
        "(SHA-256 of each file by hashlib.sha256, byte size, row count; data_sha256; latest.json)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"funding: a setting is wrong: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="funding", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(required=True, dest="command")
    _add_seed(sub, settings)
    _add_run(sub, settings)
    _add_restate(sub, settings)
    _add_verify(sub, settings)
    args = parser.parse_args(argv)
    try:
        return args.handler(args, settings)
    except KeyboardInterrupt:
        print("funding: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place errors become a line for the operator
        log = settings.tape_key_file.parent / "logs" / "funding.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(
                f"--- {datetime.now(UTC).isoformat(timespec='seconds')} funding {args.command}\n"
            )
            out.write(traceback.format_exc())
        print(f"funding {args.command}: {exc}", file=sys.stderr)
        print(f"(the traceback is in {log})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
