"""Surface labels, in one place: the integer codes the compiled kernels aggregate on, and the text
the catalogue stores (``aggregate.surface``, ``embedding``; the SQL views read the text).

=========  ==================  =========================================
text       integer code        meaning
=========  ==================  =========================================
``S<g>``   ``g``               orientable surface of genus g
``N<k>``   ``CROSSCAP + k``    non-orientable, k crosscaps (real rule), 0 <= k < 1000
``X<c>``   ``CUMULANT + c``    cumulant blocks: Euler characteristic c only, |c| < 1000
``Q``      (tree quantities)   quotient graph, no surface
=========  ==================  =========================================

Examples
--------
>>> surface_text(2), surface_text(CROSSCAP + 1), surface_text(CUMULANT - 4)
('S2', 'N1', 'X-4')
>>> Surface.parse("S3"), Surface.parse("N2").code, Surface.parse("Q").genus
(Surface(kind='S', value=3), 1002, None)
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CROSSCAP", "CUMULANT", "Surface", "surface_text"]

#: integer code offsets (the CUDA kernel gets them as #defines, numba as frozen globals); chi of
#: cumulant blocks is negative from genus 2 on, so CUMULANT sits a whole span above the crosscaps
SPAN = 1000
CROSSCAP = SPAN
CUMULANT = 3 * SPAN


class Surface(NamedTuple):
    """A parsed surface label.

    Attributes
    ----------
    kind : str
        ``"S"`` (orientable), ``"N"`` (non-orientable), ``"X"`` (cumulant blocks) or ``"Q"`` (tree).
    value : int or None
        Genus, crosscaps or Euler characteristic; None for ``Q``.

    Examples
    --------
    >>> str(Surface("N", 2)), Surface("S", 0).genus
    ('N2', 0)
    """

    kind: str
    value: int | None

    @classmethod
    def parse(cls, text: str) -> Surface:
        """The surface of a stored label (``S3``, ``N1``, ``X-2``, ``Q``).

        Parameters
        ----------
        text : str
            The label.

        Returns
        -------
        Surface

        Examples
        --------
        >>> Surface.parse("X-2")
        Surface(kind='X', value=-2)
        """
        if text == "Q":
            return cls("Q", None)
        if len(text) < 2 or text[0] not in "SNX":
            raise ValueError(f"not a surface label: {text!r}")
        return cls(text[0], int(text[1:]))

    @classmethod
    def from_code(cls, code: int) -> Surface:
        """The surface of a kernel's integer code.

        >>> Surface.from_code(1003), Surface.from_code(CUMULANT - 6)
        (Surface(kind='N', value=3), Surface(kind='X', value=-6))
        """
        if code < CROSSCAP:
            return cls("S", code)
        return cls("N", code - CROSSCAP) if code < CROSSCAP + SPAN else cls("X", code - CUMULANT)

    @property
    def code(self) -> int:
        """The integer code (``Q`` has none)."""
        if self.value is None:
            raise ValueError("a quotient graph (Q) has no surface code")
        return {"S": 0, "N": CROSSCAP, "X": CUMULANT}[self.kind] + self.value

    @property
    def genus(self) -> int | None:
        """The genus of an orientable surface, else None."""
        return self.value if self.kind == "S" else None

    def __str__(self) -> str:
        return "Q" if self.value is None else f"{self.kind}{self.value}"


def surface_text(code: int) -> str:
    """The stored label of an integer surface code.

    Parameters
    ----------
    code : int
        A kernel's code (see the table above).

    Returns
    -------
    str

    Examples
    --------
    >>> surface_text(0)
    'S0'
    """
    return str(Surface.from_code(code))
