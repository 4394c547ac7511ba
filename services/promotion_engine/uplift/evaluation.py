"""Uplift metrics as pure functions: Qini, AUUC, uplift@k, policy value, and the Qini chart.

Conventions follow scikit-uplift (sklift 0.5) so numbers are comparable with published results:
rows are sorted by predicted uplift, highest first (a stable sort reversed, as sklift does), and
rows with tied scores enter the curve together. Notation for the top k rows of that order:
N_t(k), N_c(k) treated / control rows; Y_t(k), Y_c(k) the sums of their outcomes; N = all rows.
"""

import io
import math

import numpy as np
from numpy.typing import ArrayLike

from services.promotion_engine.uplift.errors import UpliftInputError

Curve = tuple[np.ndarray, np.ndarray]


def as_treatment_array(treatment: ArrayLike, name: str = "treatment") -> np.ndarray:
    """Return the treatment flags as 0/1 ints, refusing anything that is not a two-arm experiment.

    Every uplift estimate compares the two arms, so an empty arm makes all of them meaningless.
    """
    t = np.asarray(treatment)
    if t.ndim != 1:
        raise UpliftInputError(f"treatment column '{name}' must be one-dimensional, got shape {t.shape}")
    if t.dtype == bool:
        t = t.astype(np.int8)
    try:
        values = set(np.unique(t).tolist())
    except TypeError as exc:
        raise UpliftInputError(f"treatment column '{name}' must hold 0/1 values") from exc
    if not values <= {0, 1}:
        extra = sorted(map(str, values - {0, 1}))[:3]
        raise UpliftInputError(f"treatment column '{name}' must be binary 0/1; found {', '.join(extra)}")
    t = t.astype(np.int8)
    n_treated = int(t.sum())
    if n_treated == 0:
        raise UpliftInputError(f"treatment column '{name}' has no treated rows (0)")
    if n_treated == t.size:
        raise UpliftInputError(f"treatment column '{name}' has no control rows (0)")
    return t


def _checked(y: ArrayLike, t: ArrayLike, uplift: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float)
    t_arr = as_treatment_array(t)
    u_arr = np.asarray(uplift, dtype=float)
    if not (y_arr.shape == t_arr.shape == u_arr.shape):
        raise UpliftInputError(
            f"outcome, treatment and uplift must have the same length; got {y_arr.size}, {t_arr.size}, {u_arr.size}"
        )
    if not np.isfinite(y_arr).all():
        raise UpliftInputError("outcome has missing or infinite values")
    if not np.isfinite(u_arr).all():
        raise UpliftInputError("uplift scores have missing or infinite values")
    return y_arr, t_arr, u_arr


def _thresholds(y: np.ndarray, t: np.ndarray, uplift: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative counts at each distinct score, best first: (N(k), N_t(k), N_c(k), Y_t(k), Y_c(k))."""
    order = np.argsort(uplift, kind="mergesort")[::-1]
    y, t, uplift = y[order], t[order].astype(float), uplift[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(uplift)), uplift.size - 1]
    n_all = (last_of_tie + 1).astype(float)
    n_t = np.cumsum(t)[last_of_tie]
    y_t = np.cumsum(y * t)[last_of_tie]
    y_c = np.cumsum(y * (1.0 - t))[last_of_tie]
    return n_all, n_t, n_all - n_t, y_t, y_c


def _from_origin(x: np.ndarray, q: np.ndarray) -> Curve:
    return np.r_[0.0, x], np.r_[0.0, q]


def qini_curve(y: ArrayLike, t: ArrayLike, uplift: ArrayLike) -> Curve:
    """Qini curve: x = N(k) rows targeted, q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k).

    q(k) is the incremental outcome among the top k, with the control sum rescaled to the treated
    count (q = Y_t(k) while N_c(k) = 0). The curve starts at (0, 0).
    """
    n_all, n_t, n_c, y_t, y_c = _thresholds(*_checked(y, t, uplift))
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return _from_origin(n_all, y_t - y_c * ratio)


def perfect_qini_curve(y: ArrayLike, t: ArrayLike) -> Curve:
    """Qini curve of the best possible ranking, allowing negative effects (sklift negative_effect=True).

    It ranks by s = Y*T - Y*(1-T): treated responders first, control responders last.
    """
    y_arr = np.asarray(y, dtype=float)
    t_arr = as_treatment_array(t)
    return qini_curve(y_arr, t_arr, y_arr * t_arr - y_arr * (1 - t_arr))


def _area_over_random(x: np.ndarray, q: np.ndarray, x_end: float, q_end: float) -> float:
    """Area under (x, q) minus the area under the random line from (0, 0) to (x_end, q_end)."""
    return float(np.trapezoid(q, x) - x_end * q_end / 2.0)


def _normalized_area(actual: Curve, perfect: Curve, metric: str) -> float:
    x_perfect, q_perfect = perfect
    perfect_area = _area_over_random(x_perfect, q_perfect, x_perfect[-1], q_perfect[-1])
    if perfect_area == 0:
        raise UpliftInputError(f"{metric} is undefined: the perfect ranking is no better than random on this data")
    return _area_over_random(*actual, x_perfect[-1], q_perfect[-1]) / perfect_area


def qini_coefficient(y: ArrayLike, t: ArrayLike, uplift: ArrayLike) -> float:
    """Normalized Qini coefficient, as sklift `qini_auc_score(negative_effect=True)`.

    Q = (A_model - A_random) / (A_perfect - A_random), where A is the trapezoid area under a Qini
    curve and the random line runs from (0, 0) to (N, q_perfect(N)). 1 = perfect, 0 = random.
    """
    return _normalized_area(qini_curve(y, t, uplift), perfect_qini_curve(y, t), "Qini coefficient")


def uplift_curve(y: ArrayLike, t: ArrayLike, uplift: ArrayLike) -> Curve:
    """Uplift curve: u(k) = (Y_t(k) / N_t(k) - Y_c(k) / N_c(k)) * N(k), a mean over an empty arm taken as 0."""
    n_all, n_t, n_c, y_t, y_c = _thresholds(*_checked(y, t, uplift))
    mean_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
    mean_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)
    return _from_origin(n_all, (mean_t - mean_c) * n_all)


def perfect_uplift_curve(y: ArrayLike, t: ArrayLike) -> Curve:
    """Uplift curve of the best possible ranking.

    Binary outcomes follow sklift: score 2*[Y == T] + (Y if control responders outnumber treated
    non-responders else T). Continuous outcomes have no such rule in sklift; they rank like the
    perfect Qini curve, by Y*T - Y*(1-T).
    """
    y_arr = np.asarray(y, dtype=float)
    t_arr = as_treatment_array(t)
    if set(np.unique(y_arr).tolist()) <= {0.0, 1.0}:
        control_responders = np.sum((y_arr == 1) & (t_arr == 0))
        treated_non_responders = np.sum((y_arr == 0) & (t_arr == 1))
        summand = y_arr if control_responders > treated_non_responders else t_arr
        score = 2.0 * (y_arr == t_arr) + summand
    else:
        score = y_arr * t_arr - y_arr * (1 - t_arr)
    return uplift_curve(y_arr, t_arr, score)


def auuc(y: ArrayLike, t: ArrayLike, uplift: ArrayLike) -> float:
    """Normalized area under the uplift curve, as sklift `uplift_auc_score`.

    AUUC = (A_model - A_random) / (A_perfect - A_random) over uplift curves, the random line running
    from (0, 0) to (N, u_perfect(N)). 1 = perfect, 0 = random.
    """
    return _normalized_area(uplift_curve(y, t, uplift), perfect_uplift_curve(y, t), "AUUC")


def top_k_count(n: int, k: float) -> int:
    """How many of n rows make up the top fraction k: floor(k * n), immune to 0.29 * 100 = 28.999..."""
    if not 0 < k <= 1:
        raise UpliftInputError(f"k must be a fraction in (0, 1], got {k}")
    return math.floor(k * n + 1e-9)


def uplift_at_k(y: ArrayLike, t: ArrayLike, uplift: ArrayLike, k: float = 0.3) -> float:
    """Mean outcome of treated minus mean outcome of control among the top floor(k*N) rows by score.

    This is sklift `uplift_at_k(strategy="overall")`: both arms are read from the same targeted set.
    """
    y_arr, t_arr, u_arr = _checked(y, t, uplift)
    n_top = top_k_count(y_arr.size, k)
    top = np.argsort(u_arr, kind="mergesort")[::-1][:n_top]
    y_top, t_top = y_arr[top], t_arr[top]
    for arm, label in ((1, "treated"), (0, "control")):
        if not (t_top == arm).any():
            raise UpliftInputError(f"uplift@{k:g} is undefined: the top {n_top} rows have no {label} rows")
    return float(y_top[t_top == 1].mean() - y_top[t_top == 0].mean())


def uplift_metrics(y: ArrayLike, t: ArrayLike, uplift: ArrayLike, k: float = 0.3) -> dict[str, float]:
    """The three held-out scores reported for every learner: qini, auuc and uplift_at_k."""
    return {
        "qini": qini_coefficient(y, t, uplift),
        "auuc": auuc(y, t, uplift),
        "uplift_at_k": uplift_at_k(y, t, uplift, k),
    }


def policy_value(true_effect: ArrayLike, targeted_mask: ArrayLike, cost: float = 0.0) -> float:
    """Value of a targeting policy in a simulator: sum of true_effect over targeted rows - cost * targeted."""
    effect = np.asarray(true_effect, dtype=float)
    mask = np.asarray(targeted_mask, dtype=bool)
    if effect.shape != mask.shape:
        raise UpliftInputError(f"true_effect and targeted_mask differ in length: {effect.size} vs {mask.size}")
    return float(effect[mask].sum() - cost * mask.sum())


def _top_mask(score: np.ndarray, n_top: int) -> np.ndarray:
    mask = np.zeros(score.size, dtype=bool)
    mask[np.argsort(score, kind="mergesort")[::-1][:n_top]] = True
    return mask


def targeting_policy_values(
    true_effect: ArrayLike, uplift: ArrayLike, k: float = 0.3, cost: float = 0.0
) -> dict[str, float]:
    """Policy values of four ways to spend a promotion on floor(k*N) rows, given the true effect per row.

    model: top k by predicted uplift; oracle: top k by true effect (the ceiling); everyone: all N
    rows; random: the expected value of a random k, floor(k*N) * (mean effect - cost), noise-free.
    """
    effect = np.asarray(true_effect, dtype=float)
    score = np.asarray(uplift, dtype=float)
    if effect.shape != score.shape:
        raise UpliftInputError(f"true_effect and uplift differ in length: {effect.size} vs {score.size}")
    n_top = top_k_count(effect.size, k)
    return {
        "model": policy_value(effect, _top_mask(score, n_top), cost),
        "oracle": policy_value(effect, _top_mask(effect, n_top), cost),
        "everyone": policy_value(effect, np.ones(effect.size, dtype=bool), cost),
        "random": float(n_top * (effect.mean() - cost)),
    }


def qini_chart_points(y: ArrayLike, t: ArrayLike, uplift: ArrayLike, max_points: int = 101) -> dict[str, list[float]]:
    """Model, random and perfect Qini curves on one grid of targeted fractions, for JSON and charts.

    The curves are linearly interpolated onto max_points evenly spaced fractions of N (0 to 1), so
    a chart of millions of rows still ships as a small, fixed-size payload.
    """
    if max_points < 2:
        raise UpliftInputError(f"max_points must be at least 2, got {max_points}")
    x_model, q_model = qini_curve(y, t, uplift)
    x_perfect, q_perfect = perfect_qini_curve(y, t)
    n = x_perfect[-1]
    fraction = np.linspace(0.0, 1.0, max_points)
    return {
        "fraction": fraction.tolist(),
        "model": np.interp(fraction, x_model / n, q_model).tolist(),
        "random": (fraction * q_perfect[-1]).tolist(),
        "perfect": np.interp(fraction, x_perfect / n, q_perfect).tolist(),
    }


def qini_chart_png(
    y: ArrayLike, t: ArrayLike, uplift: ArrayLike, title: str = "Qini curve", size: tuple[float, float] = (6.4, 4.0)
) -> bytes:
    """PNG of the model, random and perfect Qini curves, titled with the Qini coefficient.

    Draws on a bare matplotlib Figure with the Agg canvas, so it is safe in a server process.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = qini_chart_points(y, t, uplift)
    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(points["fraction"], points["perfect"], color="#2ca02c", linestyle=":", label="perfect")
    axes.plot(points["fraction"], points["model"], color="#1f77b4", linewidth=2, label="model")
    axes.plot(points["fraction"], points["random"], color="#7f7f7f", linestyle="--", label="random")
    axes.set_title(f"{title} (Qini coefficient {qini_coefficient(y, t, uplift):.3f})")
    axes.set_xlabel("share of customers targeted, best predicted uplift first")
    axes.set_ylabel("incremental outcome")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
