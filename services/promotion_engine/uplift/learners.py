"""Uplift learners over XGBoost base models, sklearn-shaped: fit(X, treatment, y), predict_uplift(X).

Uplift is in outcome units: a change in conversion probability for a binary outcome, a change in
the outcome itself (e.g. margin) for a continuous one. Features must already be numeric (see
csv_io.FeatureEncoder); XGBoost handles missing values (NaN) itself.
"""

import os

# XGBoost's OpenMP threads spin while waiting; on a busy 2-core machine that made a 0.1 s fit take
# 2-3 s (measured). Passive waiting keeps n_jobs=2 cheap under contention. It only takes effect if
# set before the OpenMP runtime loads (xgboost and scikit-learn share one libgomp), hence before
# the imports below; a value the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.model_selection import train_test_split
from tqdm import tqdm
from xgboost import XGBClassifier, XGBModel, XGBRegressor
from xgboost.core import XGBoostError

from services.promotion_engine.uplift.errors import UpliftInputError, UpliftModelError
from services.promotion_engine.uplift.evaluation import (
    as_treatment_array,
    qini_coefficient,
    uplift_metrics,
)

Outcome = Literal["binary", "continuous"]

SAVE_FORMAT = "shelfcast-uplift-learner"
SAVE_FORMAT_VERSION = 1

# Modest trees: 100k rows fit in seconds on 2 cores, and shallow, regularized models keep the
# difference of two noisy predictions (which is what uplift is) from chasing noise.
DEFAULT_XGB_PARAMS: dict[str, Any] = {
    "n_estimators": 150,
    "max_depth": 4,
    "learning_rate": 0.08,
    "min_child_weight": 10,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 5.0,
    "tree_method": "hist",
    "n_jobs": 2,
}

# Propensity in a randomized experiment is nearly constant: a tiny model, clipped away from 0 and 1
# so the X-learner's weights never divide by a near-zero estimate.
DIRECT_OBJECTIVES = (
    "binary:logistic",
    "reg:squarederror",
)  # the booster's "value" output is what predict_proba[:, 1] / predict return
PROPENSITY_XGB_PARAMS: dict[str, Any] = {"n_estimators": 50, "max_depth": 2, "learning_rate": 0.1}
PROPENSITY_CLIP = (0.01, 0.99)


def _column_name(values: ArrayLike, default: str) -> str:
    name = getattr(values, "name", None)
    return str(name) if name is not None else default


def _as_features(X: ArrayLike) -> np.ndarray:
    try:
        features = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UpliftInputError(
            "features must be numeric; encode categorical columns first (csv_io.FeatureEncoder)"
        ) from exc
    if features.ndim != 2:
        raise UpliftInputError(f"features must be a 2-D table, got shape {features.shape}")
    return features


def _as_outcome(y: ArrayLike, name: str) -> np.ndarray:
    try:
        outcome = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UpliftInputError(f"outcome column '{name}' must be numeric") from exc
    if outcome.ndim != 1:
        raise UpliftInputError(f"outcome column '{name}' must be one-dimensional, got shape {outcome.shape}")
    bad = np.flatnonzero(~np.isfinite(outcome))
    if bad.size:
        raise UpliftInputError(
            f"outcome column '{name}' has {bad.size} missing or infinite values (first at row {bad[0]})"
        )
    return outcome


def is_binary_outcome(y: np.ndarray) -> bool:
    """A 0/1 outcome is modelled as a probability; anything else as a continuous amount."""
    return set(np.unique(y).tolist()) <= {0.0, 1.0}


def class_transformation_target(y: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Z = Y*T + (1-Y)*(1-T): 1 for treated responders and control non-responders.

    With P(T=1) = 1/2 and T independent of X, P(Z=1|x) = (1 + P(Y=1|x,T=1) - P(Y=1|x,T=0)) / 2, so
    uplift(x) = 2 P(Z=1|x) - 1.
    """
    y_arr, t_arr = np.asarray(y, dtype=np.int8), np.asarray(t, dtype=np.int8)
    return y_arr * t_arr + (1 - y_arr) * (1 - t_arr)


def class_transformation_weights(t: ArrayLike) -> np.ndarray:
    """Sample weights that make an unbalanced experiment look balanced to the Z classifier.

    Treated rows weigh 1/(2p), control rows 1/(2(1-p)), p = share treated. The weighted arms then
    carry equal mass, and P_w(Z=1|x) = p*w1*m1 + (1-p)*w0*(1-m0) = (1 + m1 - m0) / 2 still holds
    (m1, m0 = P(Y=1|x) treated, control); with p = 1/2 every weight is 1. This is the weighted form
    of the revised transformation, valid when assignment is randomized (T independent of X).
    """
    t_arr = np.asarray(t, dtype=np.float64)
    p = t_arr.mean()
    return np.where(t_arr == 1, 0.5 / p, 0.5 / (1.0 - p))


@dataclass(frozen=True)
class ExperimentData:
    """Validated arrays of one experiment and the kind of outcome they hold."""

    X: np.ndarray
    t: np.ndarray
    y: np.ndarray
    outcome: Outcome


def check_experiment(
    X: ArrayLike, treatment: ArrayLike, y: ArrayLike, outcome: Outcome | None = None
) -> ExperimentData:
    """Validate an experiment before any fitting, so bad input fails fast with the column named."""
    t_name, y_name = _column_name(treatment, "treatment"), _column_name(y, "outcome")
    features = _as_features(X)
    t = as_treatment_array(treatment, t_name)
    outcome_values = _as_outcome(y, y_name)
    if not (features.shape[0] == t.size == outcome_values.size):
        raise UpliftInputError(
            f"features, treatment column '{t_name}' and outcome column '{y_name}' differ in length: "
            f"{features.shape[0]}, {t.size}, {outcome_values.size}"
        )
    binary = is_binary_outcome(outcome_values)
    if outcome == "binary" and not binary:
        example = outcome_values[(outcome_values != 0) & (outcome_values != 1)][0]
        raise UpliftInputError(f"outcome column '{y_name}' must be binary 0/1 for this learner; found {example:g}")
    kind: Outcome = outcome or ("binary" if binary else "continuous")
    if kind == "binary":
        for arm, label in ((1, "treated"), (0, "control")):
            seen = np.unique(outcome_values[t == arm])
            if seen.size < 2:
                raise UpliftInputError(
                    f"outcome column '{y_name}' is always {seen[0]:g} among {label} rows; "
                    "a binary outcome needs both 0 and 1 in each arm"
                )
    return ExperimentData(features, t, outcome_values, kind)


class UpliftLearner(ABC):
    """Common shape of the learners: validation, base-model construction, save and load."""

    name: ClassVar[str]
    binary_only: ClassVar[bool] = False

    def __init__(self, params: Mapping[str, Any] | None = None, seed: int = 0) -> None:
        self.params = {**DEFAULT_XGB_PARAMS, **(params or {})}
        self.seed = seed
        self.models_: dict[str, XGBModel] = {}
        self.state_: dict[str, float] = {}
        self.outcome_: Outcome | None = None
        self.n_features_: int | None = None

    def fit(self, X: ArrayLike, treatment: ArrayLike, y: ArrayLike) -> Self:
        """Fit on an experiment: X features, treatment 0/1, y outcome (0/1 or continuous)."""
        data = check_experiment(X, treatment, y, "binary" if self.binary_only else None)
        self.outcome_, self.n_features_ = data.outcome, data.X.shape[1]
        self.models_, self.state_ = {}, {}
        self._fit(data)
        return self

    def predict_uplift(self, X: ArrayLike) -> np.ndarray:
        """Predicted effect of treating each row, in outcome units."""
        if self.n_features_ is None:
            raise UpliftModelError(f"{type(self).__name__} is not fitted; call fit() or load() first")
        features = _as_features(X)
        if features.shape[1] != self.n_features_:
            raise UpliftInputError(f"expected {self.n_features_} feature columns, got {features.shape[1]}")
        return self._predict(features)

    @abstractmethod
    def _fit(self, data: ExperimentData) -> None: ...

    @abstractmethod
    def _predict(self, X: np.ndarray) -> np.ndarray: ...

    def _classifier(self, extra: Mapping[str, Any] | None = None) -> XGBClassifier:
        return XGBClassifier(**{**self.params, **(extra or {})}, random_state=self.seed)

    def _regressor(self) -> XGBRegressor:
        return XGBRegressor(**self.params, random_state=self.seed)

    def _outcome_model(self) -> XGBModel:
        return self._classifier() if self.outcome_ == "binary" else self._regressor()

    def _predict_outcome(self, role: str, X: np.ndarray) -> np.ndarray:
        """P(y=1) for a classifier, the prediction for a regressor. Straight from the booster where the
        result is the same: ``XGBModel.predict`` wraps every call in ``config_context``, which costs
        more than predicting a few hundred rows (a serving request's worth)."""
        model = self.models_[role]
        if getattr(model, "objective", None) in DIRECT_OBJECTIVES:
            last = getattr(model, "best_iteration", None) if hasattr(model, "best_iteration") else None
            values = model.get_booster().inplace_predict(
                X, iteration_range=(0, 0 if last is None else last + 1), missing=model.missing, validate_features=False
            )
            return np.asarray(values, dtype=np.float64)
        if isinstance(model, XGBClassifier):
            return model.predict_proba(X)[:, 1]
        return model.predict(X).astype(np.float64)

    def save(self, path: str | Path) -> None:
        """Write a folder: metadata.json plus one XGBoost JSON booster per base model."""
        if self.n_features_ is None:
            raise UpliftModelError(f"{type(self).__name__} is not fitted; nothing to save")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for role, model in self.models_.items():
            model.save_model(folder / f"{role}.json")
        metadata = {
            "format": SAVE_FORMAT,
            "format_version": SAVE_FORMAT_VERSION,
            "learner": self.name,
            "outcome": self.outcome_,
            "n_features": self.n_features_,
            "seed": self.seed,
            "params": self.params,
            "state": self.state_,
            "models": {role: type(model).__name__ for role, model in self.models_.items()},
        }
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "UpliftLearner":
        """Read a folder written by save(); the learner kind comes from its metadata."""
        folder = Path(path)
        try:
            metadata = json.loads((folder / "metadata.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UpliftModelError(f"cannot read uplift learner metadata in {folder}: {exc}") from exc
        if metadata.get("format") != SAVE_FORMAT or metadata.get("format_version") != SAVE_FORMAT_VERSION:
            raise UpliftModelError(f"{folder} does not hold a {SAVE_FORMAT} v{SAVE_FORMAT_VERSION} model")
        learner_cls = LEARNERS.get(metadata["learner"])
        if learner_cls is None or not issubclass(learner_cls, cls):
            raise UpliftModelError(f"{folder} holds learner '{metadata['learner']}', not a {cls.__name__}")
        learner = learner_cls(metadata["params"], metadata["seed"])
        learner.outcome_, learner.n_features_ = metadata["outcome"], metadata["n_features"]
        learner.state_ = metadata["state"]
        model_types = {"XGBClassifier": XGBClassifier, "XGBRegressor": XGBRegressor}
        for role, type_name in metadata["models"].items():
            if type_name not in model_types:
                raise UpliftModelError(f"booster '{role}' in {folder} has unknown type '{type_name}'")
            model = model_types[type_name]()
            try:
                model.load_model(folder / f"{role}.json")
            except (OSError, ValueError, XGBoostError) as exc:
                raise UpliftModelError(f"cannot load booster '{role}' from {folder}: {exc}") from exc
            learner.models_[role] = model
        return learner


class SLearner(UpliftLearner):
    """One model with the treatment flag as an extra feature: uplift(x) = mu(x, 1) - mu(x, 0).

    sklift's SoloModel. Shares all rows between arms, so it is data-efficient, but trees may
    rarely split on the flag and then shrink small effects towards zero.
    """

    name = "s"

    def _fit(self, data: ExperimentData) -> None:
        model = self._outcome_model()
        model.fit(np.column_stack([data.X, data.t]), data.y)
        self.models_["outcome"] = model

    def _predict(self, X: np.ndarray) -> np.ndarray:
        treated = self._predict_outcome("outcome", np.column_stack([X, np.ones(X.shape[0])]))
        control = self._predict_outcome("outcome", np.column_stack([X, np.zeros(X.shape[0])]))
        return treated - control


class TLearner(UpliftLearner):
    """Two models, one per arm: uplift(x) = mu_1(x) - mu_0(x). Simple and strong with plenty of rows."""

    name = "t"

    def _fit(self, data: ExperimentData) -> None:
        for role, arm in (("treated", 1), ("control", 0)):
            model = self._outcome_model()
            model.fit(data.X[data.t == arm], data.y[data.t == arm])
            self.models_[role] = model

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._predict_outcome("treated", X) - self._predict_outcome("control", X)


class XLearner(UpliftLearner):
    """Kuenzel et al. (2019): impute each row's effect from the other arm's model, then model that.

    Stage 1 fits mu_1, mu_0 as the T-learner. Imputed effects D1 = Y - mu_0(x) on treated rows and
    D0 = mu_1(x) - Y on control rows are regressed into tau_1, tau_0, blended with the fitted
    propensity g(x): uplift(x) = g(x) tau_0(x) + (1 - g(x)) tau_1(x). Helps most when arms differ in size.
    """

    name = "x"

    def _fit(self, data: ExperimentData) -> None:
        treated, control = data.t == 1, data.t == 0
        for role, mask in (("treated", treated), ("control", control)):
            model = self._outcome_model()
            model.fit(data.X[mask], data.y[mask])
            self.models_[role] = model
        imputed = {
            "effect_treated": (treated, data.y[treated] - self._predict_outcome("control", data.X[treated])),
            "effect_control": (control, self._predict_outcome("treated", data.X[control]) - data.y[control]),
        }
        for role, (mask, effect) in imputed.items():
            model = self._regressor()
            model.fit(data.X[mask], effect)
            self.models_[role] = model
        propensity = self._classifier(PROPENSITY_XGB_PARAMS)
        propensity.fit(data.X, data.t)
        self.models_["propensity"] = propensity

    def _predict(self, X: np.ndarray) -> np.ndarray:
        g = np.clip(self._predict_outcome("propensity", X), *PROPENSITY_CLIP)
        return g * self._predict_outcome("effect_control", X) + (1 - g) * self._predict_outcome("effect_treated", X)


class ClassTransformation(UpliftLearner):
    """Jaskowski & Jaroszewicz (2012): one classifier on Z = Y*T + (1-Y)*(1-T); uplift = 2 P(Z=1|x) - 1.

    Binary outcomes only. The plain identity needs P(T=1) = 1/2; an unbalanced experiment is
    reweighted to balance (class_transformation_weights), which keeps the identity exact.
    """

    name = "ct"
    binary_only = True

    def _fit(self, data: ExperimentData) -> None:
        model = self._classifier()
        model.fit(
            data.X, class_transformation_target(data.y, data.t), sample_weight=class_transformation_weights(data.t)
        )
        self.models_["z"] = model
        self.state_["treatment_rate"] = float(data.t.mean())

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return 2.0 * self._predict_outcome("z", X) - 1.0


LEARNERS: dict[str, type[UpliftLearner]] = {
    cls.name: cls for cls in (SLearner, TLearner, XLearner, ClassTransformation)
}


def make_learner(name: str, seed: int = 0, params: Mapping[str, Any] | None = None) -> UpliftLearner:
    """Build a learner by its short name: s, t, x or ct."""
    if name not in LEARNERS:
        raise UpliftInputError(f"unknown learner '{name}'; choose one of {', '.join(LEARNERS)}")
    return LEARNERS[name](params, seed)


def load_learner(path: str | Path) -> UpliftLearner:
    """Read any learner written by UpliftLearner.save()."""
    return UpliftLearner.load(path)


def applicable_learners(outcome: Outcome) -> list[str]:
    """Learner names that can model this kind of outcome (class transformation needs a binary one)."""
    return [name for name, cls in LEARNERS.items() if outcome == "binary" or not cls.binary_only]


@dataclass
class LearnerSelection:
    """Outcome of select_learner: the winner refit on all rows and each candidate's held-out Qini."""

    best: str
    learner: UpliftLearner
    scores: dict[str, float]


def _progress(total: int, enabled: bool) -> tqdm:
    return tqdm(total=total, desc="uplift fit", unit="model", file=sys.stderr, disable=not enabled)


def select_learner(
    X: ArrayLike,
    t: ArrayLike,
    y: ArrayLike,
    candidates: Sequence[str] | None = None,
    valid_fraction: float = 0.3,
    seed: int = 0,
    progress: bool = False,
) -> LearnerSelection:
    """Pick the learner with the best Qini coefficient on a held-out split, then refit it on all rows.

    The split is stratified by arm (and by outcome when binary) so both arms reach the validation
    set. candidates defaults to every learner applicable to the outcome.
    """
    data = check_experiment(X, t, y)
    names = list(candidates) if candidates is not None else applicable_learners(data.outcome)
    if not names:
        raise UpliftInputError("select_learner needs at least one candidate learner")
    if not 0 < valid_fraction < 1:
        raise UpliftInputError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    strata = data.t * 2 + data.y.astype(np.int8) if data.outcome == "binary" else data.t
    try:
        train, valid = train_test_split(
            np.arange(data.t.size), test_size=valid_fraction, random_state=seed, stratify=strata
        )
    except ValueError as exc:
        raise UpliftInputError(
            f"too few rows ({data.t.size}) to hold out {valid_fraction:.0%} for learner selection; "
            "name a learner instead of auto"
        ) from exc
    scores: dict[str, float] = {}
    with _progress(len(names) + 1, progress) as bar:
        for name in names:
            bar.set_postfix_str(f"selecting: {name}")
            learner = make_learner(name, seed).fit(data.X[train], data.t[train], data.y[train])
            scores[name] = qini_coefficient(data.y[valid], data.t[valid], learner.predict_uplift(data.X[valid]))
            bar.update()
        best = max(scores, key=lambda name: scores[name])
        bar.set_postfix_str(f"refit: {best}")
        winner = make_learner(best, seed).fit(data.X, data.t, data.y)
        bar.update()
    return LearnerSelection(best, winner, scores)


def compare_learners(
    train: tuple[ArrayLike, ArrayLike, ArrayLike],
    test: tuple[ArrayLike, ArrayLike, ArrayLike],
    candidates: Sequence[str] | None = None,
    k: float = 0.3,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Fit each learner on train (X, t, y) and score it on test: qini, auuc, uplift_at_k, fit_seconds.

    A "random" entry scores uniform random uplift, the honest baseline every learner must beat.
    """
    train_data = check_experiment(*train)
    X_test, t_test, y_test = test
    names = list(candidates) if candidates is not None else applicable_learners(train_data.outcome)
    results: dict[str, dict[str, float]] = {}
    with _progress(len(names), progress) as bar:
        for name in names:
            bar.set_postfix_str(name)
            started = time.perf_counter()
            learner = make_learner(name, seed).fit(train_data.X, train_data.t, train_data.y)
            fit_seconds = time.perf_counter() - started
            results[name] = {
                **uplift_metrics(y_test, t_test, learner.predict_uplift(X_test), k),
                "fit_seconds": fit_seconds,
            }
            bar.update()
    random_scores = np.random.default_rng(seed).random(np.asarray(t_test).shape[0])
    results["random"] = uplift_metrics(y_test, t_test, random_scores, k)
    return results
