"""Read experiment CSVs for the CLI and turn them into numeric features the learners accept.

Categorical columns (text, category, mixed) are one-hot encoded with the categories seen in the
training file; a value never seen in training encodes as all zeros, so scoring never fails on a
new store or channel and the model reads it as "none of the known ones". One-hot was chosen over
XGBoost's native categorical support because the encoded table is plain floats: every learner,
the saved boosters and any later consumer read it the same way with no dtype bookkeeping. Each
column keeps at most MAX_CATEGORIES most frequent values (the rest encode as zeros) so an ID-like
column cannot blow the table up. Boolean columns become a single 0/1 column.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from services.promotion_engine.uplift.errors import UpliftInputError

MAX_CATEGORIES = 50
_TRUE_WORDS = {"1", "1.0", "true", "t", "yes"}
_FALSE_WORDS = {"0", "0.0", "false", "f", "no"}


def parse_drop_cols(text: str | None) -> list[str]:
    """Split a --drop-cols value such as "a, b" into column names."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def read_csv(path: str | Path, role: str) -> pd.DataFrame:
    """Read one CSV, reporting a missing, empty or malformed file by name and role (train/score)."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise UpliftInputError(f"{role} file '{path}' does not exist") from exc
    except pd.errors.EmptyDataError as exc:
        raise UpliftInputError(f"{role} file '{path}' is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise UpliftInputError(f"{role} file '{path}' is not a readable CSV: {exc}") from exc
    if frame.empty:
        raise UpliftInputError(f"{role} file '{path}' has a header but no rows")
    return frame


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str, path: str | Path) -> None:
    for column in columns:
        if column not in frame.columns:
            raise UpliftInputError(
                f"{what} '{column}' not found in '{path}' (columns: {', '.join(map(str, frame.columns))})"
            )


def parse_treatment(values: pd.Series, path: str | Path) -> np.ndarray:
    """Treatment as 0/1 ints; accepts 0/1, 0.0/1.0, true/false, yes/no (any case). Both arms must be present."""
    column = values.name
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        raise UpliftInputError(f"treatment column '{column}' in '{path}' is empty on line {missing[0] + 2}")
    words = values.astype(str).str.strip().str.lower()
    ones, zeros = words.isin(_TRUE_WORDS), words.isin(_FALSE_WORDS)
    bad = np.flatnonzero(~(ones | zeros).to_numpy())
    if bad.size:
        raise UpliftInputError(
            f"treatment column '{column}' must be binary 0/1 (or true/false); "
            f"found '{values.iloc[bad[0]]}' on line {bad[0] + 2} of '{path}'"
        )
    treatment = ones.to_numpy().astype(np.int8)
    for arm, label in ((1, "treated"), (0, "control")):
        if not (treatment == arm).any():
            raise UpliftInputError(f"treatment column '{column}' has no {label} rows (0) in '{path}'")
    return treatment


def parse_outcome(values: pd.Series, path: str | Path) -> np.ndarray:
    """Outcome as floats; true/false counts as 1/0. Every row needs a value."""
    column = values.name
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() | ~np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan)))
    if bad.size:
        shown = "" if pd.isna(values.iloc[bad[0]]) else f" ('{values.iloc[bad[0]]}')"
        raise UpliftInputError(
            f"outcome column '{column}' must be numeric; line {bad[0] + 2} of '{path}' is not{shown}"
        )
    return numbers.to_numpy(dtype=np.float64)


@dataclass
class FeatureEncoder:
    """Remembers the training file's feature columns and categories, and encodes any file the same way."""

    numeric: list[str] = field(default_factory=list)
    boolean: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Raw feature columns a file must provide, in training order."""
        return [*self.numeric, *self.boolean, *self.categories]

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: numeric, boolean, then column=value per kept category."""
        one_hot = [f"{column}={value}" for column, values in self.categories.items() for value in values]
        return [*self.numeric, *self.boolean, *one_hot]

    @classmethod
    def fit(cls, features: pd.DataFrame) -> "FeatureEncoder":
        """Classify each column by its training dtype and keep the most frequent categories."""
        encoder = cls()
        for column in features.columns:
            values = features[column]
            if pd.api.types.is_bool_dtype(values):
                encoder.boolean.append(column)
            elif pd.api.types.is_numeric_dtype(values):
                encoder.numeric.append(column)
            else:
                counts = values.dropna().astype(str).value_counts(sort=True)
                encoder.categories[column] = sorted(counts.index[:MAX_CATEGORIES].tolist())
        return encoder

    def transform(self, features: pd.DataFrame, path: str | Path = "<frame>") -> pd.DataFrame:
        """Encode a table into floats in training column order; unknown categories become all zeros."""
        _require_columns(features, self.columns, "feature column", path)
        encoded: dict[str, np.ndarray] = {}
        for column in self.numeric:
            numbers = pd.to_numeric(features[column], errors="coerce")
            bad = np.flatnonzero(numbers.isna().to_numpy() & features[column].notna().to_numpy())
            if bad.size:
                raise UpliftInputError(
                    f"feature column '{column}' is numeric in training but line {bad[0] + 2} of '{path}' "
                    f"holds '{features[column].iloc[bad[0]]}'"
                )
            encoded[column] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        for column in self.boolean:
            encoded[column] = _encode_boolean(features[column], path)
        for column, values in self.categories.items():
            text = features[column].astype(str).where(features[column].notna())
            for value in values:
                encoded[f"{column}={value}"] = (text == value).to_numpy(dtype=np.float64)
        return pd.DataFrame(encoded, index=features.index, columns=self.feature_names)


def _encode_boolean(values: pd.Series, path: str | Path) -> np.ndarray:
    words = values.astype(str).str.strip().str.lower()
    known = words.isin(_TRUE_WORDS | _FALSE_WORDS) | values.isna()
    bad = np.flatnonzero(~known.to_numpy())
    if bad.size:
        raise UpliftInputError(
            f"feature column '{values.name}' is true/false in training but line {bad[0] + 2} of '{path}' "
            f"holds '{values.iloc[bad[0]]}'"
        )
    return np.where(values.isna(), np.nan, words.isin(_TRUE_WORDS).astype(float))


@dataclass
class TrainingSet:
    """A validated training file: encoded features, treatment, outcome and the encoder to reuse."""

    X: pd.DataFrame
    treatment: pd.Series
    outcome: pd.Series
    encoder: FeatureEncoder


def _feature_frame(frame: pd.DataFrame, exclude: Sequence[str], drop_cols: Sequence[str]) -> pd.DataFrame:
    return frame.drop(columns=[c for c in (*exclude, *drop_cols) if c in frame.columns])


def read_training_csv(
    path: str | Path, treatment_col: str, outcome_col: str, drop_cols: Sequence[str] = ()
) -> TrainingSet:
    """Read and validate a training file: both arms present, numeric outcome, at least one feature."""
    frame = read_csv(path, "train")
    _require_columns(frame, [treatment_col], "treatment column", path)
    _require_columns(frame, [outcome_col], "outcome column", path)
    if treatment_col == outcome_col:
        raise UpliftInputError(f"treatment and outcome columns must differ; both are '{treatment_col}'")
    treatment = pd.Series(parse_treatment(frame[treatment_col], path), name=treatment_col)
    outcome = pd.Series(parse_outcome(frame[outcome_col], path), name=outcome_col)
    _require_columns(frame, drop_cols, "--drop-cols column", path)
    features = _feature_frame(frame, [treatment_col, outcome_col], drop_cols)
    if features.shape[1] == 0:
        raise UpliftInputError(
            f"train file '{path}' has no feature columns left after removing treatment, outcome and --drop-cols"
        )
    encoder = FeatureEncoder.fit(features)
    return TrainingSet(encoder.transform(features, path), treatment, outcome, encoder)


def read_scoring_csv(
    path: str | Path,
    encoder: FeatureEncoder,
    treatment_col: str,
    outcome_col: str,
    drop_cols: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a file to score and encode it like the training file.

    The treatment, outcome and --drop-cols columns may be absent; columns the training file did not
    have are ignored; a missing feature column is an error naming it.
    """
    frame = read_csv(path, "score")
    return encoder.transform(_feature_frame(frame, [treatment_col, outcome_col], drop_cols), path)


def read_test_csv(
    path: str | Path,
    encoder: FeatureEncoder,
    treatment_col: str,
    outcome_col: str,
    drop_cols: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read a labelled held-out file (features, treatment, outcome) encoded like the training file."""
    frame = read_csv(path, "test")
    _require_columns(frame, [treatment_col], "treatment column", path)
    _require_columns(frame, [outcome_col], "outcome column", path)
    treatment = parse_treatment(frame[treatment_col], path)
    outcome = parse_outcome(frame[outcome_col], path)
    features = _feature_frame(frame, [treatment_col, outcome_col], drop_cols)
    return encoder.transform(features, path), treatment, outcome
