"""Learners on generated experiments whose true effect is known: effect = 0.2 if x0 > 0 else -0.05."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.promotion_engine.uplift.errors import UpliftInputError, UpliftModelError
from services.promotion_engine.uplift.learners import (
    ClassTransformation,
    SLearner,
    TLearner,
    XLearner,
    class_transformation_target,
    class_transformation_weights,
    compare_learners,
    load_learner,
    make_learner,
    select_learner,
)

ALL_LEARNERS = ["s", "t", "x", "ct"]


def conversion_experiment(
    n: int, seed: int, treated_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Binary conversion: base rate 0.10-0.30 driven by x1; the promotion adds 0.2 if x0 > 0, else -0.05."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    t = (rng.random(n) < treated_share).astype(int)
    base = 0.1 + 0.2 / (1 + np.exp(-X[:, 1]))
    effect = np.where(X[:, 0] > 0, 0.2, -0.05)
    y = (rng.random(n) < base + t * effect).astype(int)
    return X, t, y, effect


def margin_experiment(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Continuous margin: 10 + 2*x1 + noise; the promotion adds 3 if x0 > 0, else -1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    t = rng.integers(0, 2, n)
    effect = np.where(X[:, 0] > 0, 3.0, -1.0)
    y = 10 + 2 * X[:, 1] + t * effect + rng.normal(scale=2.0, size=n)
    return X, t, y, effect


@pytest.fixture(scope="module")
def conversion_split() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    return conversion_experiment(8000, seed=1), conversion_experiment(4000, seed=2)


@pytest.mark.parametrize("name", ALL_LEARNERS)
def test_predicted_uplift_tracks_the_true_heterogeneous_effect(name: str, conversion_split: tuple) -> None:
    (X, t, y, _), (X_test, _, _, effect_test) = conversion_split
    uplift = make_learner(name, seed=0).fit(X, t, y).predict_uplift(X_test)
    assert np.corrcoef(uplift, effect_test)[0, 1] > 0.5
    top_30_percent = np.argsort(uplift)[::-1][: int(0.3 * uplift.size)]
    assert (effect_test[top_30_percent] > 0).mean() > 0.8  # random targeting: 0.5
    assert uplift[effect_test > 0].mean() == pytest.approx(0.2, abs=0.05)
    assert uplift[effect_test < 0].mean() == pytest.approx(-0.05, abs=0.05)


@pytest.mark.parametrize("learner_cls", [SLearner, TLearner, XLearner])
def test_continuous_outcome_uplift_is_in_outcome_units(learner_cls: type) -> None:
    X, t, y, _ = margin_experiment(6000, seed=3)
    X_test, _, _, effect_test = margin_experiment(2000, seed=4)
    uplift = learner_cls(seed=0).fit(X, t, y).predict_uplift(X_test)
    assert uplift[effect_test > 0].mean() == pytest.approx(3.0, abs=0.6)
    assert uplift[effect_test < 0].mean() == pytest.approx(-1.0, abs=0.6)


def test_class_transformation_identity_recovers_uplift_on_balanced_assignment() -> None:
    X, t, y, effect = conversion_experiment(60_000, seed=5)
    z = class_transformation_target(y, t)
    np.testing.assert_array_equal(z, y * t + (1 - y) * (1 - t))
    np.testing.assert_allclose(class_transformation_weights(t), 1.0, atol=0.02)
    for group in (effect > 0, effect < 0):
        assert 2 * z[group].mean() - 1 == pytest.approx(effect[group][0], abs=0.03)


def test_weighted_class_transformation_stays_unbiased_when_arms_are_unbalanced() -> None:
    X, t, y, effect = conversion_experiment(60_000, seed=6, treated_share=0.2)
    z = class_transformation_target(y, t)
    weights = class_transformation_weights(t)
    group = effect > 0
    naive = 2 * z[group].mean() - 1
    weighted = 2 * np.average(z[group], weights=weights[group]) - 1
    assert weighted == pytest.approx(0.2, abs=0.03)
    assert abs(naive - 0.2) > 0.1


def test_class_transformation_model_handles_unbalanced_arms() -> None:
    X, t, y, _ = conversion_experiment(20_000, seed=7, treated_share=0.2)
    X_test, _, _, effect_test = conversion_experiment(4000, seed=8)
    uplift = ClassTransformation(seed=0).fit(X, t, y).predict_uplift(X_test)
    assert uplift[effect_test > 0].mean() == pytest.approx(0.2, abs=0.06)
    assert uplift[effect_test < 0].mean() == pytest.approx(-0.05, abs=0.06)


def test_class_transformation_refuses_a_continuous_outcome_naming_the_column() -> None:
    X, t, y, _ = margin_experiment(500, seed=9)
    with pytest.raises(UpliftInputError, match="outcome column 'margin' must be binary"):
        ClassTransformation().fit(X, t, pd.Series(y, name="margin"))


def test_select_learner_returns_a_refit_winner_and_held_out_qini_per_candidate(conversion_split: tuple) -> None:
    (X, t, y, _), (X_test, _, _, _) = conversion_split
    selection = select_learner(X, t, y, candidates=ALL_LEARNERS, valid_fraction=0.3, seed=0)
    assert set(selection.scores) == set(ALL_LEARNERS)
    assert all(np.isfinite(score) and score > 0 for score in selection.scores.values())
    assert selection.best == max(selection.scores, key=selection.scores.get)
    assert selection.learner.name == selection.best
    assert selection.learner.predict_uplift(X_test).shape == (X_test.shape[0],)


def test_select_learner_skips_class_transformation_for_continuous_outcomes() -> None:
    X, t, y, _ = margin_experiment(2000, seed=10)
    assert set(select_learner(X, t, y, seed=0).scores) == {"s", "t", "x"}


def test_compare_learners_reports_every_learner_and_a_random_baseline(conversion_split: tuple) -> None:
    (X, t, y, _), (X_test, t_test, y_test, _) = conversion_split
    results = compare_learners((X, t, y), (X_test, t_test, y_test), candidates=["t"], seed=0)
    assert set(results) == {"t", "random"}
    assert set(results["random"]) == {"qini", "auuc", "uplift_at_k"}
    assert results["t"]["qini"] > results["random"]["qini"]


def test_empty_control_arm_raises_an_error_naming_the_treatment_column() -> None:
    X = np.zeros((10, 2))
    with pytest.raises(UpliftInputError, match=r"treatment column 'T' has no control rows \(0\)"):
        TLearner().fit(X, pd.Series(np.ones(10, dtype=int), name="T"), np.arange(10) % 2)


def test_non_binary_treatment_is_refused() -> None:
    with pytest.raises(UpliftInputError, match="treatment column 'treatment' must be binary"):
        XLearner().fit(np.zeros((3, 2)), [0, 1, 2], [0, 1, 0])


def test_binary_outcome_constant_in_one_arm_is_refused_with_the_column_name() -> None:
    y = pd.Series([0, 0, 0, 1, 0, 1], name="converted")
    with pytest.raises(UpliftInputError, match="outcome column 'converted' is always 0 among treated rows"):
        TLearner().fit(np.zeros((6, 1)), [1, 1, 1, 0, 0, 0], y)


@pytest.mark.parametrize("name", ALL_LEARNERS)
def test_saved_learner_loads_back_with_identical_predictions(name: str, tmp_path: Path) -> None:
    X, t, y, _ = conversion_experiment(2000, seed=11)
    learner = make_learner(name, seed=0).fit(X, t, y)
    learner.save(tmp_path / name)
    restored = load_learner(tmp_path / name)
    assert type(restored) is type(learner)
    np.testing.assert_allclose(restored.predict_uplift(X[:200]), learner.predict_uplift(X[:200]), rtol=1e-6, atol=1e-7)


def test_loading_a_folder_without_a_model_raises_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(UpliftModelError, match="cannot read"):
        load_learner(tmp_path)


def test_predicting_before_fit_or_with_wrong_width_is_refused() -> None:
    with pytest.raises(UpliftModelError, match="not fitted"):
        TLearner().predict_uplift(np.zeros((2, 5)))
    X, t, y, _ = conversion_experiment(500, seed=12)
    with pytest.raises(UpliftInputError, match="expected 5 feature columns, got 3"):
        TLearner().fit(X, t, y).predict_uplift(np.zeros((2, 3)))
