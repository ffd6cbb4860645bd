"""Activation specs: :class:`Activation` and :func:`parse_activation` (re-exported by :mod:`graphexp_db.spec`)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import SpecError
from .spec_numbers import MAX_NUMBER_CHARS, MAX_POLY_TERMS, _fraction_text, _hash, parse_number

ACTIVATIONS = ("relu", "tanh", "erf", "sin", "gelu", "identity", "poly")


@dataclass(frozen=True)
class Activation:
    """An activation by name; ``poly`` carries exact coefficients of 1, z, z^2, ..."""

    name: str
    coeffs: tuple[Fraction, ...] = ()

    def __str__(self) -> str:
        if self.name == "poly":
            return "poly:" + ",".join(_fraction_text(c) for c in self.coeffs)
        return self.name

    @property
    def is_polynomial(self) -> bool:
        return self.name in ("poly", "identity")

    @property
    def poly_coeffs(self) -> tuple[Fraction, ...]:
        """Coefficients of the polynomial (identity is ``(0, 1)``); empty for non-polynomials."""
        if self.name == "identity":
            return (Fraction(0), Fraction(1))
        return self.coeffs

    def taylor(self, degree: int) -> tuple[Fraction, ...]:
        """Taylor coefficients c_0..c_degree at 0 (relu and gelu have none: not analytic); exact
        where they are rational, otherwise rounded to 40 significant digits (erf).

        >>> parse_activation("sin").taylor(5)
        (Fraction(0, 1), Fraction(1, 1), Fraction(0, 1), Fraction(-1, 6), Fraction(0, 1), Fraction(1, 120))
        """
        import sympy

        if self.is_polynomial:
            c = list(self.poly_coeffs) + [Fraction(0)] * (degree + 1)
            return tuple(c[: degree + 1])
        z = sympy.Symbol("z")
        fn = {"tanh": sympy.tanh(z), "erf": sympy.erf(z), "sin": sympy.sin(z)}.get(self.name)
        if fn is None:
            raise SpecError(f"activation {self.name} has no Taylor expansion at 0; use a poly: activation")
        ser = sympy.series(fn, z, 0, degree + 1).removeO()
        out = []
        for k in range(degree + 1):
            c = ser.coeff(z, k)
            # rational coefficients stay exact; irrational ones (erf: 2/sqrt(pi) ...) are rounded
            # to 40 significant digits, far below float precision
            out.append(Fraction(str(sympy.Rational(c))) if c.is_rational else Fraction(str(sympy.N(c, 40))))
        return tuple(out)

    @property
    def act_hash(self) -> str:
        return _hash({"name": self.name, "coeffs": list(self.coeffs)})


def parse_activation(text: str | Activation) -> Activation:
    """Parse ``relu|tanh|erf|sin|gelu|identity|poly:c0,c1,...``.

    >>> parse_activation("poly:1,0.5").coeffs
    (Fraction(1, 1), Fraction(1, 2))
    >>> parse_activation("poly:1,0,0")  # trailing zeros are dropped: same hash as poly:1
    Activation(name='poly', coeffs=(Fraction(1, 1),))
    >>> parse_activation("softplus")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: unknown activation 'softplus' (expected one of relu, tanh, erf, sin, gelu, identity, poly:c0,c1,...)
    """
    if isinstance(text, Activation):
        return text
    if not isinstance(text, str):
        raise SpecError(f"activation must be text, got {type(text).__name__}")
    if len(text) > MAX_POLY_TERMS * (MAX_NUMBER_CHARS + 1):
        raise SpecError("activation spec is too long")
    s = text.strip()
    name, colon, rest = s.partition(":")
    name = name.strip().lower()
    if name not in ACTIVATIONS:
        raise SpecError(f"unknown activation {s[:40]!r} (expected one of relu, tanh, erf, sin, gelu, identity, poly:c0,c1,...)")
    if name != "poly":
        if colon:
            raise SpecError(f"activation {name} takes no parameters, got {s!r}")
        return Activation(name)
    if not rest.strip():
        raise SpecError("poly activation needs coefficients, e.g. poly:0,1,0.5")
    parts = rest.split(",")
    if len(parts) > MAX_POLY_TERMS:
        raise SpecError(f"poly activation has {len(parts)} coefficients (at most {MAX_POLY_TERMS})")
    coeffs = [parse_number(c, "polynomial coefficient") for c in parts]
    while len(coeffs) > 1 and coeffs[-1] == 0:
        coeffs.pop()
    return Activation("poly", tuple(coeffs))

