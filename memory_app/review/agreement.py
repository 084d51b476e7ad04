"""How far a queue's reviewers agree, per score config: Cohen's kappa when the items were
scored by the same two reviewers, Krippendorff's alpha when more took part (it allows any
number of reviewers per item, and missing ratings).

The statistics come from well-kept libraries (pyproject.toml says which and why), never
our own arithmetic. Too few ratings, or ratings that leave the measure undefined (every
rating the same value), give a sentence saying so instead of a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import krippendorff
import numpy as np

KAPPA = "Cohen's kappa"
ALPHA = "Krippendorff's alpha"
NOT_ENOUGH = "not enough ratings: it takes two items each scored by two reviewers or more"
ALL_ALIKE = "not enough ratings: every rating is the same value, so agreement is undefined"

# A value of a score: a category, true/false, or a number.
Value = str | bool | float | int


@dataclass(frozen=True)
class Agreement:
    """One score config's agreement: the measure used and its value, or why there is none."""

    measure: str
    value: float | None
    items: int  # the items scored by two reviewers or more, the ones compared
    reviewers: int  # who scored those items
    note: str = ""


def agreement(ratings: Mapping[str, Mapping[str, Value]], *, numeric: bool) -> Agreement:
    """The agreement among ``ratings`` (item id → {reviewer: value}) of one score config.

    Categories and booleans are nominal: two reviewers' ratings give Cohen's kappa, more
    reviewers' Krippendorff's alpha (nominal). Numbers give Krippendorff's alpha on the
    interval scale whatever the number of reviewers: kappa counts only exact matches, so
    4 against 5 would weigh as much as 1 against 5.
    """
    compared = {item: scores for item, scores in ratings.items() if len(scores) >= 2}
    reviewers = sorted({who for scores in compared.values() for who in scores})
    two = len(reviewers) == 2 and not numeric
    measure = KAPPA if two else ALPHA
    if len(compared) < 2:
        return Agreement(measure, None, len(compared), len(reviewers), NOT_ENOUGH)
    values = {value for scores in compared.values() for value in scores.values()}
    if len(values) < 2:
        return Agreement(measure, None, len(compared), len(reviewers), ALL_ALIKE)
    value = _kappa(compared, reviewers) if two else _alpha(compared, reviewers, numeric=numeric)
    if not math.isfinite(value):  # the libraries' NaN: chance agreement is certain
        return Agreement(measure, None, len(compared), len(reviewers), ALL_ALIKE)
    return Agreement(measure, value, len(compared), len(reviewers))


def _kappa(compared: Mapping[str, Mapping[str, Value]], reviewers: list[str]) -> float:
    # Imported here, not at the top: scikit-learn takes about a second to import, and only
    # the queue page needs it, while every process imports this module with the URLs.
    from sklearn.metrics import cohen_kappa_score

    first, second = ([str(scores[who]) for scores in compared.values()] for who in reviewers)
    return float(cohen_kappa_score(first, second))


def _alpha(
    compared: Mapping[str, Mapping[str, Value]], reviewers: list[str], *, numeric: bool
) -> float:
    """Alpha over a table of reviewers by items, NaN where a reviewer did not score an item;
    categories become the numbers of their places in one sorted list (nominal data only
    asks whether two values are the same)."""
    if numeric:
        code = float
    else:
        categories = sorted({str(v) for scores in compared.values() for v in scores.values()})
        places = {category: n for n, category in enumerate(categories)}

        def code(value: Value) -> float:
            return float(places[str(value)])

    table = np.array(
        [
            [code(scores[who]) if who in scores else np.nan for scores in compared.values()]
            for who in reviewers
        ]
    )
    level = "interval" if numeric else "nominal"
    return float(krippendorff.alpha(reliability_data=table, level_of_measurement=level))
