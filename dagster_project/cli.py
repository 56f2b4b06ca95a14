"""`funding`: the commands people and scripts run by hand.

funding seed   writes a synthetic ledger (the demo's)
funding run    materializes every asset for closed periods, in period order
funding verify checks a published package against its manifest
"""

from __future__ import annotations

import argparse
import sys

from dagster_project.settings import Settings, ensure_dagster_home


def _add_seed(sub) -> None:
    from funding.seed import add_seed_arguments

    parser = sub.add_parser("seed", help="write a synthetic ledger into a fresh database")
    add_seed_arguments(parser, default_url=Settings.from_env().ledger_url)
    parser.set_defaults(handler=_seed)


def _seed(args) -> int:
    from funding.seed import run_seed

    return run_seed(args)


def _add_run(sub) -> None:
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
    parser.set_defaults(handler=_run)


def _run(args) -> int:
    from dagster_project.runner import run_periods

    settings = Settings.from_env()
    ensure_dagster_home(settings.dagster_home)
    return run_periods(settings, first=args.period, through=args.through, rerun=args.rerun)


def _add_verify(sub) -> None:
    parser = sub.add_parser(
        "verify",
        help="check a published package against its manifest",
        description=(
            "Checks every file of a package (hash, size, row count) against its manifest. "
            "PACKAGE is {root}/{vehicle}/{YYYY-MM}[/vN] as a folder path or s3:// URI; without "
            "vN the version latest.json points at is checked."
        ),
    )
    parser.add_argument("package", metavar="PACKAGE")
    parser.set_defaults(handler=_verify)


def _verify(args) -> int:
    import re

    from funding.publish import target_for, verify_package

    parts = args.package.rstrip("/").split("/")
    version = None
    if re.fullmatch(r"v\d+", parts[-1]):
        version = int(parts.pop()[1:])
    if len(parts) < 3 or not re.fullmatch(r"\d{4}-\d{2}", parts[-1]):
        print(f"not a package path: {args.package} (expected {{root}}/{{vehicle}}/YYYY-MM[/vN])")
        return 2
    period, vehicle = parts.pop(), parts.pop()
    root = "/".join(parts) or "/"
    problems = verify_package(target_for(root), vehicle, period, version)
    if problems:
        print(f"{args.package}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"{args.package}: every file matches its manifest")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funding", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(required=True, dest="command")
    _add_seed(sub)
    _add_run(sub)
    _add_verify(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
