"""Command line: ``python -m mmm_pipeline {run,simulate,rollback,datasets}``.

Only the standard library is imported at module level, so ``--help`` answers at once; Dagster
and torch load when a command needs them.
"""

import argparse
import sys

COMMANDS = "run, simulate, rollback, datasets"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmm_pipeline",
        description="Marketing-mix modelling pipeline (Dagster + constrained Neural Additive Model).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + COMMANDS.replace(" ", "") + "}")
    run = sub.add_parser(
        "run",
        help="materialize every asset (all walk-forward partitions) for a dataset and write its results folder",
        description="Runs the whole Dagster graph on the persistent instance ($DAGSTER_HOME, default "
        "<repo>/.dagster_home): data preparation first, then every fold partition, the final model, "
        "evaluation, intervals, budget plan and report. Exits non-zero when a step or blocking check fails.",
    )
    run.add_argument("--dataset", default=None,
                     help="dataset name (configs/datasets/<name>.yaml) or a YAML path; default $MMM_DATASET or retail_daily")
    run.add_argument("--output-root", default=None, help="folder for outputs/<dataset>/ (default settings.outputs.root)")
    run.add_argument("--executor", choices=("in_process", "multiprocess"), default="in_process",
                     help="in_process (default; fastest on small machines) or multiprocess (independent steps in parallel)")
    run.add_argument("--fold-workers", type=int, default=1,
                     help="compute the walk-forward folds in this many parallel processes (default 1: in the main run)")
    sub.add_parser("simulate", help="simulate a dataset with known truth (see `simulate --help`)", add_help=False)
    rollback = sub.add_parser("rollback", help="reinstall the previous champion's results folder")
    rollback.add_argument("--dataset", default=None, help="dataset name or YAML path")
    rollback.add_argument("--output-root", default=None, help="folder holding outputs/<dataset>/")
    sub.add_parser("datasets", help="list the configured datasets")
    return parser


def _datasets() -> int:
    from mmm_pipeline.core.config import ConfigError, list_datasets, load_dataset_config

    for name in list_datasets():
        try:
            config = load_dataset_config(name)
            print(f"{name:<18} {config.frequency:<8} {config.title}")
        except ConfigError as exc:
            print(f"{name:<18} invalid: {' '.join(line.strip() for line in str(exc).splitlines()[:2])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["simulate"]:
        from mmm_pipeline.core.data.simulator import main as simulate

        return simulate(args_in[1:])
    args = _parser().parse_args(args_in)
    if args.command == "run":
        from mmm_pipeline.defs.launch import run_pipeline

        return run_pipeline(args.dataset, args.output_root, args.executor, fold_workers=args.fold_workers)
    if args.command == "rollback":
        from mmm_pipeline.defs.launch import rollback

        return rollback(args.dataset, args.output_root)
    if args.command == "datasets":
        return _datasets()
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
