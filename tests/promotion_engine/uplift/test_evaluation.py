"""Uplift metrics on a six-row example worked out by hand, plus properties on generated data."""

import numpy as np
import pytest

from services.promotion_engine.uplift.errors import UpliftInputError
from services.promotion_engine.uplift.evaluation import (
    auuc,
    perfect_qini_curve,
    perfect_uplift_curve,
    policy_value,
    qini_chart_png,
    qini_chart_points,
    qini_coefficient,
    qini_curve,
    targeting_policy_values,
    uplift_at_k,
    uplift_curve,
)

# Rows already in score order (best first):  row  score  T  Y
#                                              0    0.9   1  1
#                                              1    0.8   0  0
#                                              2    0.7   1  1
#                                              3    0.6   0  1
#                                              4    0.5   1  0
#                                              5    0.4   0  0
Y = np.array([1, 0, 1, 1, 0, 0])
T = np.array([1, 0, 1, 0, 1, 0])
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_matches_hand_computation() -> None:
    # q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)   (ratio taken as 0 while N_c(k) = 0)
    # k=1: 1 - 0 = 1        k=2: 1 - 0*1/1 = 1     k=3: 2 - 0*2/1 = 2
    # k=4: 2 - 1*2/2 = 1    k=5: 2 - 1*3/2 = 0.5   k=6: 2 - 1*3/3 = 1
    x, q = qini_curve(Y, T, SCORE)
    np.testing.assert_allclose(x, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(q, [0, 1, 1, 2, 1, 0.5, 1])


def test_qini_coefficient_matches_hand_computation() -> None:
    # Perfect ranking scores Y*T - Y*(1-T) = [1, 0, 1, -1, 0, 0]; ties enter together:
    # rows {0,2}: q(2) = 2;  rows {1,4,5}: q(5) = 2 - 0 = 2;  row {3}: q(6) = 2 - 1*3/3 = 1.
    x_perfect, q_perfect = perfect_qini_curve(Y, T)
    np.testing.assert_allclose(x_perfect, [0, 2, 5, 6])
    np.testing.assert_allclose(q_perfect, [0, 2, 2, 1])
    # Trapezoid areas: model 0.5+1+1.5+1.5+0.75+0.75 = 6.0; perfect 2+6+1.5 = 9.5;
    # random line (0,0)->(6,1) = 3.  Qini = (6.0 - 3) / (9.5 - 3) = 3 / 6.5.
    assert qini_coefficient(Y, T, SCORE) == pytest.approx(3 / 6.5)


def test_auuc_matches_hand_computation() -> None:
    # u(k) = (Y_t/N_t - Y_c/N_c) * k:  k=1: 1*1=1  k=2: (1-0)*2=2  k=3: (1-0)*3=3
    # k=4: (1-1/2)*4=2  k=5: (2/3-1/2)*5=5/6  k=6: (2/3-1/3)*6=2
    x, u = uplift_curve(Y, T, SCORE)
    np.testing.assert_allclose(x, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(u, [0, 1, 2, 3, 2, 5 / 6, 2])
    # Perfect (sklift rule): 1 control responder is not > 1 treated non-responder, so the score is
    # 2*[Y==T] + T = [3, 2, 3, 0, 1, 2]: groups {0,2} u=2, {1,5} u=4, {4} u=(2/3)*5=10/3, {3} u=2.
    x_perfect, u_perfect = perfect_uplift_curve(Y, T)
    np.testing.assert_allclose(x_perfect, [0, 2, 4, 5, 6])
    np.testing.assert_allclose(u_perfect, [0, 2, 4, 10 / 3, 2])
    # Areas: model 0.5+1.5+2.5+2.5+17/12+17/12 = 59/6; perfect 2+6+11/3+8/3 = 43/3; random 6*2/2 = 6.
    # AUUC = (59/6 - 6) / (43/3 - 6) = (23/6) / (25/3) = 0.46
    assert auuc(Y, T, SCORE) == pytest.approx(0.46)


def test_uplift_at_k_compares_arms_within_the_top_rows() -> None:
    # k=0.5 -> top 3 rows {0,1,2}: treated mean (1+1)/2 = 1, control mean 0/1 = 0 -> 1.0
    assert uplift_at_k(Y, T, SCORE, k=0.5) == pytest.approx(1.0)
    # k=0.7 -> floor(4.2) = 4 rows {0..3}: treated (1+1)/2 = 1, control (0+1)/2 = 0.5 -> 0.5
    assert uplift_at_k(Y, T, SCORE, k=0.7) == pytest.approx(0.5)


def test_uplift_at_k_refuses_a_top_set_without_control_rows() -> None:
    with pytest.raises(UpliftInputError, match="no control rows"):
        uplift_at_k(Y, T, SCORE, k=0.2)


def test_all_tied_scores_rank_exactly_like_random() -> None:
    assert qini_coefficient(Y, T, np.zeros(6)) == pytest.approx(0.0)
    assert auuc(Y, T, np.zeros(6)) == pytest.approx(0.0)


def _experiment(n: int = 20_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    effect = np.where(rng.random(n) < 0.5, 0.25, -0.05)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + t * effect).astype(int)
    return y, t, effect


def test_ranking_by_true_effect_scores_higher_than_random() -> None:
    # The normalizer is the outcome-level "perfect" curve, which no score of x can reach: ranking by
    # the true effect lands near 0.17 here, random scores near 0.
    y, t, effect = _experiment()
    random_scores = np.random.default_rng(0).random(y.size)
    assert qini_coefficient(y, t, effect) > qini_coefficient(y, t, random_scores) + 0.1
    assert auuc(y, t, effect) > auuc(y, t, random_scores) + 0.08
    assert uplift_at_k(y, t, effect) > uplift_at_k(y, t, random_scores) + 0.1
    assert abs(qini_coefficient(y, t, random_scores)) < 0.05


def test_ranking_by_the_perfect_score_gives_qini_one() -> None:
    y, t, _ = _experiment()
    assert qini_coefficient(y, t, y * t - y * (1 - t)) == pytest.approx(1.0)


def test_metrics_name_the_problem_when_an_arm_is_empty() -> None:
    with pytest.raises(UpliftInputError, match="no control rows"):
        qini_coefficient([1, 0], [1, 1], [0.5, 0.2])
    with pytest.raises(UpliftInputError, match="binary"):
        auuc([1, 0, 1], [0, 1, 2], [0.5, 0.2, 0.1])


def test_policy_values_for_model_everyone_random_and_oracle() -> None:
    effect = np.array([0.3, -0.1, 0.2, 0.0, 0.1])
    uplift = np.array([0.1, 0.5, 0.3, 0.2, 0.0])
    # k=0.4 -> 2 rows. model: rows 1, 2 -> -0.1 + 0.2 = 0.1; oracle: rows 0, 2 -> 0.5;
    # everyone: 0.5; random: 2 * mean 0.1 = 0.2.
    values = targeting_policy_values(effect, uplift, k=0.4)
    assert values == pytest.approx({"model": 0.1, "oracle": 0.5, "everyone": 0.5, "random": 0.2})
    assert policy_value(effect, [True, False, True, False, False], cost=0.05) == pytest.approx(0.4)


def test_qini_chart_points_are_downsampled_and_share_end_points() -> None:
    y, t, effect = _experiment()
    points = qini_chart_points(y, t, effect)
    assert all(len(values) == 101 for values in points.values())
    assert points["fraction"][0] == 0.0 and points["fraction"][-1] == 1.0
    assert points["model"][-1] == pytest.approx(points["random"][-1])
    assert points["perfect"][-1] == pytest.approx(points["random"][-1])


def test_qini_chart_png_returns_png_bytes() -> None:
    png = qini_chart_png(Y, T, SCORE, title="test")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
