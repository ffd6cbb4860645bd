"""Numbers and bounds of the spec parsers: exact :func:`parse_number` / :func:`parse_vector`,
the parsing caps :data:`LIMITS`, and the canonical JSON that spec hashes are taken of.

>>> parse_number("2e-3"), canonical_json({"b": parse_number("0.5"), "a": [1, 2]})
(Fraction(1, 500), '{"a":[1,2],"b":"1/2"}')
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from fractions import Fraction

from .errors import SpecError

# Caps checked *before* any exact number, graph or file content is built, so that no input can
# make parsing hang or exhaust memory (``1e999999999`` would otherwise build a 10^9-digit integer).
MAX_NUMBER_CHARS = 200
MAX_DIGITS = 60          # digits of a mantissa, numerator or denominator
MAX_EXPONENT = 100       # |decimal exponent|
MAX_DEPTH = 10_000       # L of mlp / resnet
MAX_DAG_NODES = 512
MAX_DAG_EDGES = 8192
MAX_POLY_TERMS = 65      # poly: coefficients c_0..c_64
MAX_SPEC_CHARS = 1_000_000
MAX_JSON_DEPTH = 16
MAX_VECTOR_LEN = 10_000
MAX_ORDER = 64           # --order / --k / --n: (2n-1)!! pairings are out of reach long before
MAX_P = 16               # Ginibre factors of a trace word

#: The parsing caps, by name (the UI and the CLI help state them).
LIMITS = {
    "number_chars": MAX_NUMBER_CHARS, "digits": MAX_DIGITS, "exponent": MAX_EXPONENT, "depth": MAX_DEPTH,
    "dag_nodes": MAX_DAG_NODES, "dag_edges": MAX_DAG_EDGES, "poly_terms": MAX_POLY_TERMS,
    "spec_chars": MAX_SPEC_CHARS, "json_depth": MAX_JSON_DEPTH, "vector_len": MAX_VECTOR_LEN,
    "order": MAX_ORDER, "p": MAX_P,
}

_NUMBER_RE = re.compile(
    r"(?P<sign>[+-]?)(?:(?P<num>\d+)/(?P<den>\d+)|(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?)"
)


# --------------------------------------------------------------------------- numbers
def parse_number(text: object, what: str = "number") -> Fraction:
    """Parse a decimal or fraction exactly (``"1.5"``, ``"1/3"``, ``"2e-3"``, ``2``); anything else is refused.

    The text is checked against a plain decimal / fraction grammar, with at most
    :data:`MAX_DIGITS` digits per part and a decimal exponent of at most :data:`MAX_EXPONENT`,
    before any :class:`~fractions.Fraction` is built: ``1e999999999`` is refused at once.

    >>> parse_number("0.1"), parse_number("-1/3"), parse_number(2)
    (Fraction(1, 10), Fraction(-1, 3), Fraction(2, 1))
    >>> parse_number("1e999999999")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: number: exponent 999999999 is out of range (at most 100 in absolute value)
    """
    if isinstance(text, Fraction):  # already exact (built by code, not parsed from text)
        return text
    if isinstance(text, bool):
        raise SpecError(f"malformed {what}: {text!r}")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise SpecError(f"malformed {what}: {text!r} is not finite")
        # repr gives the shortest decimal that round-trips: 0.1 -> 1/10, not the binary value
        return parse_number(repr(text), what)
    if not isinstance(text, str):
        raise SpecError(f"malformed {what}: expected a number, got {type(text).__name__}")
    s = text.strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise SpecError(f"malformed {what}: longer than {MAX_NUMBER_CHARS} characters")
    m = _NUMBER_RE.fullmatch(s)
    if m is None or (m.group("num") is None and not (m.group("int") or m.group("frac"))):
        raise SpecError(f"malformed {what}: {s[:40]!r}")
    for part in ("num", "den", "int", "frac"):
        digits = (m.group(part) or "").lstrip("0")
        if len(digits) > MAX_DIGITS:
            raise SpecError(f"{what}: more than {MAX_DIGITS} digits in {s[:40]!r}")
    if m.group("exp") is not None:
        e = m.group("exp").lstrip("+-").lstrip("0")
        if len(e) > 6 or int(e or 0) > MAX_EXPONENT:
            raise SpecError(f"{what}: exponent {m.group('exp').lstrip('+')} is out of range (at most {MAX_EXPONENT} in absolute value)")
    if m.group("den") is not None and int(m.group("den")) == 0:
        raise SpecError(f"malformed {what}: {s!r} divides by zero")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"malformed {what}: {s[:40]!r}") from None


def parse_vector(text: str | list | tuple, what: str = "vector") -> tuple[Fraction, ...]:
    """Parse ``"1,0.5,-1/3"`` (or a sequence of numbers) into exact entries, bounded in length.

    >>> parse_vector("1, 0.5, -1/3")
    (Fraction(1, 1), Fraction(1, 2), Fraction(-1, 3))
    >>> parse_vector("")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: vector is empty
    """
    if isinstance(text, str):
        if len(text) > MAX_VECTOR_LEN * (MAX_NUMBER_CHARS + 1):
            raise SpecError(f"{what} is too long")
        items = [t for t in text.split(",")]
        if len(items) == 1 and not items[0].strip():
            items = []
    elif isinstance(text, (list, tuple)):
        items = list(text)
    else:
        raise SpecError(f"malformed {what}: expected comma-separated numbers")
    if not items:
        raise SpecError(f"{what} is empty")
    if len(items) > MAX_VECTOR_LEN:
        raise SpecError(f"{what} has {len(items)} entries (at most {MAX_VECTOR_LEN})")
    return tuple(parse_number(t, f"{what} entry") for t in items)


def check_inputs(x, y=None, *, dim: int | None = None) -> None:
    """Refuse inputs whose lengths disagree with each other or with the input dimension ``dim``.

    >>> check_inputs([1, 0], [0.6, 0.8], dim=2)
    >>> check_inputs([1, 0], [1, 0, 0])
    Traceback (most recent call last):
    ...
    graphexp_db.errors.SpecError: x and y have different dimensions (2 and 3)
    """
    nx_ = len(x)
    if nx_ == 0:
        raise SpecError("x is empty")
    if nx_ > MAX_VECTOR_LEN:
        raise SpecError(f"x has {nx_} entries (at most {MAX_VECTOR_LEN})")
    if y is not None and len(y) != nx_:
        raise SpecError(f"x and y have different dimensions ({nx_} and {len(y)})")
    if dim is not None and nx_ != dim:
        raise SpecError(f"x has {nx_} entries but the input dimension is {dim}")


def _fraction_text(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def canonical_json(obj: object) -> str:
    """Canonical JSON (sorted keys, no spaces, Fractions as exact strings)."""

    def enc(o: object) -> object:
        if isinstance(o, Fraction):
            return _fraction_text(o)
        if isinstance(o, dict):
            return {str(k): enc(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [enc(v) for v in o]
        return o

    return json.dumps(enc(obj), sort_keys=True, separators=(",", ":"))


def _hash(obj: object) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]


def _parse_params(rest: str, kind: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if not rest.strip():
        return params
    items = rest.split(",")
    if len(items) > 16:
        raise SpecError(f"too many parameters in {kind[:20]} spec ({len(items)})")
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key or not value.strip():
            raise SpecError(f"malformed parameter {item.strip()!r} in {kind} spec (expected key=value)")
        if key in params:
            raise SpecError(f"parameter {key!r} given twice in {kind} spec")
        params[key] = value.strip()
    return params

