"""Command line: ``python -m mmm_pipeline {run,simulate,rollback,datasets,serve}``.

Only the standard library is imported at module level, so ``--help`` answers at once; Dagster
and torch load when a command needs them.
"""

import argparse
import sys

COMMANDS = "run, simulate, rollback, datasets, serve"


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
    serve = sub.add_parser(
        "serve", help="answer HTTP requests with the champion models (docs at /docs)",
        description="Serves the champions' channel returns, response curves, elasticities, predictions, budget "
        "plans and scenarios over HTTP (FastAPI on uvicorn), reloading a champion when a new one is promoted. "
        "Set MMM_API_KEY to require that key in the X-API-Key header.",
    )
    serve.add_argument("--dataset", action="append", default=None,
                       help="serve this dataset (name or YAML path; repeat for several); default every configured one")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--output-root", default=None, help="folder holding outputs/<dataset>/")
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
    if args.command == "serve":
        from mmm_pipeline.api.service import serve

        return serve(args.dataset, args.host, args.port, args.output_root)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
