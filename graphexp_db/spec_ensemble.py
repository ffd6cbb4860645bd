"""Weight-ensemble specs: :class:`Ensemble` (exact moments and cumulants) and :func:`parse_ensemble`
(re-exported by :mod:`graphexp_db.spec`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .errors import SpecError
from .spec_numbers import MAX_NUMBER_CHARS, _fraction_text, parse_number

ENSEMBLES = ("gaussian", "complex", "rademacher", "uniform", "sparse")


@dataclass(frozen=True)
class Ensemble:
    """A weight ensemble with unit variance entries (CONVENTIONS.md)."""

    name: str
    p: Fraction | None = None

    def __str__(self) -> str:
        return f"sparse:{_fraction_text(self.p)}" if self.name == "sparse" and self.p is not None else self.name

    @property
    def is_complex(self) -> bool:
        return self.name == "complex"

    @property
    def is_gaussian(self) -> bool:
        return self.name in ("gaussian", "complex")

    def moment(self, k: int) -> Fraction:
        """Exact E[w^k] of one entry (real ensembles; odd moments vanish).

        >>> parse_ensemble("uniform").moment(4), parse_ensemble("sparse:1/2").moment(4)
        (Fraction(9, 5), Fraction(6, 1))
        """
        if k % 2:
            return Fraction(0)
        j = k // 2
        dfact = math.prod(range(1, k, 2))
        if self.name == "gaussian":
            return Fraction(dfact)
        if self.name == "rademacher":
            return Fraction(1)
        if self.name == "uniform":
            return Fraction(3**j, 2 * j + 1)
        if self.name == "sparse" and self.p is not None:
            return dfact * self.p ** (1 - j)
        raise SpecError(f"moments of the {self.name} ensemble are not real moments")

    def cumulant(self, k: int) -> Fraction:
        """Exact cumulant kappa_k of one entry (kappa_2 = 1 for every ensemble).

        >>> [parse_ensemble("rademacher").cumulant(k) for k in (2, 4, 6)]
        [Fraction(1, 1), Fraction(-2, 1), Fraction(16, 1)]
        """
        if self.is_gaussian:
            return Fraction(int(k == 2))
        moments = [Fraction(1)] + [self.moment(j) for j in range(1, k + 1)]
        kappa = [Fraction(0)] * (k + 1)
        for n in range(1, k + 1):  # kappa_n = m_n - sum_{j=1}^{n-1} C(n-1, j-1) kappa_j m_{n-j}
            kappa[n] = moments[n] - sum(math.comb(n - 1, j - 1) * kappa[j] * moments[n - j] for j in range(1, n))
        return kappa[k]


def parse_ensemble(text: str | Ensemble) -> Ensemble:
    """Parse ``gaussian|complex|rademacher|uniform|sparse:p`` (0 < p <= 1).

    >>> parse_ensemble("sparse:0.25").p
    Fraction(1, 4)
    >>> parse_ensemble("sparse:1.5")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: sparse ensemble needs 0 < p <= 1, got 1.5
    """
    if isinstance(text, Ensemble):
        return text
    if not isinstance(text, str):
        raise SpecError(f"ensemble must be text, got {type(text).__name__}")
    if len(text) > MAX_NUMBER_CHARS + 20:
        raise SpecError("ensemble spec is too long")
    s = text.strip()
    name, colon, rest = s.partition(":")
    name = name.strip().lower()
    if name in ("real",):
        name = "gaussian"
    if name not in ENSEMBLES:
        raise SpecError(f"unknown ensemble {s[:40]!r} (expected gaussian, complex, rademacher, uniform or sparse:p)")
    if name != "sparse":
        if colon:
            raise SpecError(f"ensemble {name} takes no parameter, got {s!r}")
        return Ensemble(name)
    if not rest.strip():
        raise SpecError("sparse ensemble needs a probability, e.g. sparse:0.3")
    p = parse_number(rest, "sparse probability")
    if not (0 < p <= 1):
        raise SpecError(f"sparse ensemble needs 0 < p <= 1, got {rest.strip()}")
    return Ensemble("sparse", p)
