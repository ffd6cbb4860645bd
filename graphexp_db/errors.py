"""One error type for every user-facing failure (bad input, refused query, unusable catalogue).

Everything a user can get wrong derives from :class:`GraphexpError` (itself a ``ValueError``, so
older ``except ValueError`` call sites keep working).  The CLI has a single handler for it: one
line on stderr and exit code 2; the web UI shows one ``st.error``.  The message of every subclass is
one line that says what went wrong and, where there is one, what to do.

Subclasses name the family of the failure, so callers can react to one without string matching:

======================  ======================================================================
:class:`SpecError`      a malformed or meaningless specification or option value
:class:`TooLarge`       an enumeration or computation estimated over its size limit
:class:`DeviceError`    the requested array device (GPU) is not usable here
:class:`SchemaOutdated` the catalogue is not at the code's schema revision
:class:`ReadOnlyError`  a console query refused, cut by a budget, or failed
:class:`CatalogueError` a database URL, server, file or file-system problem
:class:`BudgetExceeded` a time or memory budget was hit
======================  ======================================================================

Examples
--------
>>> issubclass(TooLarge, SpecError) and issubclass(SpecError, GraphexpError)
True
>>> issubclass(ReadOnlyError, GraphexpError) and issubclass(GraphexpError, ValueError)
True
>>> one_line("line one\\n  line two")
'line one line two'
"""

from __future__ import annotations

import re

__all__ = [
    "GraphexpError",
    "SpecError",
    "TooLarge",
    "DeviceError",
    "SchemaOutdated",
    "ReadOnlyError",
    "CatalogueError",
    "BudgetExceeded",
    "one_line",
]


class GraphexpError(ValueError):
    """Base of every user-facing failure; ``str(err)`` is the one line shown to the user.

    Parameters
    ----------
    message : str
        The one line shown to the user: what went wrong and, where there is one, what to do.

    Examples
    --------
    >>> err = GraphexpError("no catalogue at data/x.sqlite: run graphexp build first")
    >>> isinstance(err, ValueError), str(err)
    (True, 'no catalogue at data/x.sqlite: run graphexp build first')
    """


class SpecError(GraphexpError):
    """A malformed or invalid specification; the message is one line for the user.

    Parameters
    ----------
    message : str
        What is wrong with the specification or option value.

    Examples
    --------
    >>> try:
    ...     raise SpecError("sparse ensemble needs 0 < p <= 1, got 1.5")
    ... except GraphexpError as err:
    ...     print(err)
    sparse ensemble needs 0 < p <= 1, got 1.5
    """


class TooLarge(SpecError):
    """The estimated enumeration size is over the limit (the message carries the estimate).

    Parameters
    ----------
    message : str
        The estimated size and the limit it is over.

    Examples
    --------
    >>> isinstance(TooLarge("about 3.2e9 graphs, over the limit 1e7"), SpecError)
    True
    """


class DeviceError(GraphexpError, RuntimeError):
    """The requested device is not usable here (one line for the user).

    Also a ``RuntimeError``, as the original ``backend.DeviceError`` was.
    

    Parameters
    ----------
    message : str
        Which device was asked for and what to use instead.

    Examples
    --------
    >>> err = DeviceError("--device gpu asked for, but no CUDA GPU with CuPy is available here")
    >>> isinstance(err, RuntimeError) and isinstance(err, GraphexpError)
    True
    """


class SchemaOutdated(GraphexpError, RuntimeError):
    """The database is not at the head revision of the migrations (message: one line).

    Also a ``RuntimeError``, as the original ``migrate.SchemaOutdated`` was.
    

    Parameters
    ----------
    message : str
        The revision found, the head revision, and the command that upgrades.

    Examples
    --------
    >>> isinstance(SchemaOutdated("catalogue at revision 0003, code at 0005: run graphexp db upgrade"), RuntimeError)
    True
    """


class ReadOnlyError(GraphexpError):
    """A query refused (or cut) by the read-only console; the message is one line.

    Parameters
    ----------
    message : str
        Why the query was refused, cut or failed.

    Examples
    --------
    >>> str(ReadOnlyError("only SELECT statements are allowed"))
    'only SELECT statements are allowed'
    """


class CatalogueError(GraphexpError):
    """The catalogue cannot be used: bad or unknown URL, unreachable server, corrupt or
    non-SQLite file, a directory, a read-only file system, a full disk ...; the message says
    what to do.

    Parameters
    ----------
    message : str
        The problem and what to do about it.

    Examples
    --------
    >>> isinstance(CatalogueError("data/x.sqlite is not an SQLite file"), GraphexpError)
    True
    """


class BudgetExceeded(GraphexpError):
    """A computation or query hit its time or memory budget (the message states the budget).

    Parameters
    ----------
    message : str
        Which budget was hit, with its value.

    Examples
    --------
    >>> str(BudgetExceeded("query cut at its 10 s time budget"))
    'query cut at its 10 s time budget'
    """


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b")


def one_line(message: object, limit: int = 300) -> str:
    """``message`` as one printable line of at most ``limit`` characters.

    Whitespace runs (newlines included) become one space; ANSI escapes and other control
    characters are dropped.

    Parameters
    ----------
    message : object
        An error or any object; its ``str`` is cleaned.
    limit : int
        Maximum length; a longer line is cut and ends with ``…``.

    Returns
    -------
    str
        The cleaned, single-line text.

    Examples
    --------
    >>> one_line("a\\x1b[31mb\\x00c\\td", 10)
    'abc d'
    >>> len(one_line("x" * 1000, 20))
    20
    """
    text = _ANSI.sub("", str(message))
    text = "".join(ch if ch.isprintable() or ch in " \t\n\r" else "" for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
