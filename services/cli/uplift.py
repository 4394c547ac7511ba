"""``shelfcast uplift …``: fit uplift learners on experiment CSVs, score customers, compare learners.

Input problems (missing column, non-binary treatment, empty arm, unreadable file) end with one
line on stderr and exit code 2; progress bars go to stderr, results to stdout and --out.
"""

import argparse
import json
import sys
from collections.abc import Callable

import pandas as pd

from services.benchmarks.uplift import run_synthetic_evaluation
from services.promotion_engine.uplift.csv_io import (
    parse_drop_cols,
    read_scoring_csv,
    read_test_csv,
    read_training_csv,
)
from services.promotion_engine.uplift.errors import UpliftError
from services.promotion_engine.uplift.learners import (
    LEARNERS,
    compare_learners,
    make_learner,
    select_learner,
)

EXIT_INPUT_ERROR = 2

Handler = Callable[[argparse.Namespace], int]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``uplift score``, ``uplift evaluate`` and ``uplift benchmark`` to the shelfcast parser."""
    parser = commands.add_parser("uplift", help="uplift models: score customers, compare learners")
    actions = parser.add_subparsers(dest="uplift_command", required=True, metavar="ACTION")

    score = actions.add_parser("score", help="fit on an experiment CSV, write predicted uplift per score row")
    _add_experiment_args(score)
    score.add_argument(
        "--score", required=True, metavar="FILE.csv", help="rows to score; treatment/outcome columns optional"
    )
    score.add_argument(
        "--out", required=True, metavar="FILE.csv", help="output: one column 'uplift', score rows in order"
    )
    score.add_argument(
        "--learner",
        choices=("auto", *LEARNERS),
        default="auto",
        help="s, t, x, ct (class transformation, binary outcome only) or auto: best held-out Qini (default)",
    )
    score.set_defaults(handler=_guarded(_score))

    evaluate = actions.add_parser(
        "evaluate", help="fit each learner on --train, print held-out metrics on --test as JSON"
    )
    _add_experiment_args(evaluate)
    evaluate.add_argument(
        "--test", required=True, metavar="FILE.csv", help="held-out experiment rows with treatment and outcome"
    )
    evaluate.add_argument("--k", type=float, default=0.3, help="targeted share for uplift@k (default 0.3)")
    evaluate.set_defaults(handler=_guarded(_evaluate))

    benchmark = actions.add_parser(
        "benchmark", help="synthetic experiment with known effects: metrics and policy values as JSON"
    )
    benchmark.add_argument("--rows", type=int, default=50_000, help="rows to simulate (default 50000)")
    benchmark.add_argument("--seed", type=int, default=0)
    benchmark.add_argument("--cost", type=float, default=0.0, help="cost per customer targeted, in outcome units")
    benchmark.set_defaults(handler=_guarded(_benchmark))

    policy = actions.add_parser(
        "policy",
        help="policy value of the engine's targeting on the simulator's true effects, against everyone, random and "
        "the oracle",
    )
    policy.add_argument("--customers", type=int, default=5000, help="simulated customers (default 5000; 30%% held out)")
    policy.add_argument("--seed", type=int, default=0)
    policy.add_argument(
        "--k", type=float, default=0.3, help="share of held-out customer x promotion pairs targeted (default 0.3)"
    )
    policy.add_argument(
        "--days", type=int, default=56, help="simulated days of shop history behind the features (default 56)"
    )
    policy.add_argument(
        "--pairs", type=int, default=4, help="promotions each customer meets in the experiment (default 4)"
    )
    policy.add_argument("--json", action="store_true", help="only the JSON summary on stdout")
    policy.set_defaults(handler=_guarded(_policy))


def _add_experiment_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train", required=True, metavar="FILE.csv", help="experiment rows: features, treatment, outcome"
    )
    parser.add_argument("--treatment-col", required=True, metavar="T", help="treatment column, 0/1 or true/false")
    parser.add_argument("--outcome-col", required=True, metavar="Y", help="outcome column: 0/1 conversion or an amount")
    parser.add_argument(
        "--drop-cols", default="", metavar="a,b", help="comma-separated columns that are not features (ids, dates)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for splits and boosting (default 0)")


def _guarded(handler: Handler) -> Handler:
    """Turn the uplift core's typed errors and file errors into one stderr line and exit 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (UpliftError, OSError) as exc:
            print(f"shelfcast uplift {args.uplift_command}: error: {exc}", file=sys.stderr)
            return EXIT_INPUT_ERROR

    return run


def _print_json(payload: dict) -> None:
    print(json.dumps(payload, allow_nan=False))


def _score(args: argparse.Namespace) -> int:
    drop_cols = parse_drop_cols(args.drop_cols)
    train = read_training_csv(args.train, args.treatment_col, args.outcome_col, drop_cols)
    X_score = read_scoring_csv(args.score, train.encoder, args.treatment_col, args.outcome_col, drop_cols)
    selection_qini = None
    if args.learner == "auto":
        selection = select_learner(train.X, train.treatment, train.outcome, seed=args.seed, progress=True)
        learner, name, selection_qini = selection.learner, selection.best, selection.scores
    else:
        name = args.learner
        learner = make_learner(name, args.seed).fit(train.X, train.treatment, train.outcome)
    uplift = learner.predict_uplift(X_score)
    pd.DataFrame({"uplift": uplift}).to_csv(args.out, index=False)
    _print_json({"rows": len(uplift), "learner": name, "selection_qini": selection_qini, "out": args.out})
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    drop_cols = parse_drop_cols(args.drop_cols)
    train = read_training_csv(args.train, args.treatment_col, args.outcome_col, drop_cols)
    X_test, t_test, y_test = read_test_csv(args.test, train.encoder, args.treatment_col, args.outcome_col, drop_cols)
    results = compare_learners(
        (train.X, train.treatment, train.outcome), (X_test, t_test, y_test), k=args.k, seed=args.seed, progress=True
    )
    best = max((name for name in results if name != "random"), key=lambda name: results[name]["qini"])
    _print_json({"n_train": len(train.X), "n_test": len(X_test), "k": args.k, "best": best, "learners": results})
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    _print_json(run_synthetic_evaluation(args.rows, args.seed, cost=args.cost))
    return 0


def _policy(args: argparse.Namespace) -> int:
    from services.benchmarks.policy import evaluate_policies

    try:
        result = evaluate_policies(
            args.customers,
            args.seed,
            args.k,
            args.days,
            args.pairs,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except ValueError as exc:
        print(f"shelfcast uplift policy: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    if not args.json:
        print(
            f"{'policy (top ' + format(args.k, '.0%') + ' of held-out pairs)':<34} {'incr. conversions':>18} "
            f"{'per targeted':>13} "
            f"{'incr. margin $':>15} {'per targeted':>13}"
        )
        for name in ("engine", "random", "oracle", "everyone"):
            conv, margin = result["conversions"][name], result["margin_cents"][name]
            print(
                f"{name:<34} {conv['total']:>18.1f} {conv['per_targeted']:>13.4f} {margin['total'] / 100:>15.2f} "
                f"{margin['per_targeted'] / 100:>13.3f}"
            )
    _print_json(result)
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="shelfcast")
    register(_parser.add_subparsers(dest="command", required=True))
    _args = _parser.parse_args()
    sys.exit(_args.handler(_args))
