"""The one array-backend switch: NumPy on the CPU, CuPy on a GPU, the same code path.

``get_xp(device)`` reads ``device`` (or ``GRAPHEXP_DEVICE``): ``"cpu"``, ``"gpu"`` or
``"auto"`` (GPU when CuPy sees one, else CPU).  This is the only module that imports cupy;
other code takes ``xp`` or derives it from its arrays with :func:`array_namespace`.

Examples
--------
>>> xp = get_xp("cpu")
>>> xp.__name__, device_name(xp)
('numpy', 'cpu')
>>> import numpy as np
>>> array_namespace(np.zeros(2)) is np
True
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

__all__ = ["DeviceError", "get_xp", "array_namespace", "to_numpy", "device_name", "device_kind", "is_gpu", "gpu_available"]

DEVICES = ("auto", "cpu", "gpu")


from .errors import DeviceError  # noqa: E402  (a GraphexpError and a RuntimeError)


def _cupy() -> ModuleType | None:
    try:
        import cupy  # noqa: PLC0415  (the only cupy import of the package)

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        return cupy
    except Exception:  # ImportError, CUDA driver errors: no usable GPU
        return None


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device.

    Returns
    -------
    bool
        Whether ``get_xp("gpu")`` would succeed.

    Examples
    --------
    >>> gpu_available() == (get_xp("auto") is not np)   # "auto" picks the GPU exactly when there is one
    True
    """
    return _cupy() is not None


def get_xp(device: str | None = None) -> ModuleType:
    """Return the array namespace for ``device`` (``cpu``, ``gpu`` or ``auto``).

    Parameters
    ----------
    device : str, optional
        ``cpu``, ``gpu`` or ``auto`` (case and surrounding spaces ignored); ``None`` reads
        ``GRAPHEXP_DEVICE``, and ``cpu`` when that is unset.

    Returns
    -------
    module
        ``numpy`` or ``cupy``.

    Raises
    ------
    DeviceError
        when ``gpu`` is asked for and no CUDA device with CuPy is available, or the name is unknown.

    Examples
    --------
    >>> get_xp(" CPU ") is np
    True
    >>> get_xp("tpu")
    Traceback (most recent call last):
    ...
    graphexp_db.errors.DeviceError: unknown device 'tpu' (expected cpu, gpu or auto)
    """
    device = (device or os.environ.get("GRAPHEXP_DEVICE") or "cpu").strip().lower()
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r} (expected cpu, gpu or auto)")
    if device == "cpu":
        return np
    cp = _cupy()
    if cp is not None:
        return cp
    if device == "gpu":
        raise DeviceError("--device gpu asked for, but no CUDA GPU with CuPy is available here (use --device cpu or auto)")
    return np


def array_namespace(*arrays: object) -> ModuleType:
    """The namespace (numpy or cupy) of the given arrays; numpy for host objects.

    Parameters
    ----------
    *arrays : object
        Arrays (or host scalars, lists) an operation combines.

    Returns
    -------
    module
        ``cupy`` when any of them is a CuPy array (and CuPy is usable), else ``numpy``.

    Examples
    --------
    >>> array_namespace(np.ones(3), 2.0, [1, 2]) is np
    True
    """
    for a in arrays:
        mod = type(a).__module__.split(".")[0]
        if mod == "cupy":
            return _cupy() or np
    return np


def to_numpy(a: object) -> np.ndarray:
    """Copy an array to the host (no-op for NumPy).

    Parameters
    ----------
    a : object
        A NumPy or CuPy array, or anything ``np.asarray`` takes.

    Returns
    -------
    numpy.ndarray
        The values on the host (the same object for a NumPy array).

    Examples
    --------
    >>> to_numpy([1, 2]).tolist()
    [1, 2]
    >>> x = np.arange(3)
    >>> to_numpy(x) is x
    True
    """
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


def is_gpu(xp: ModuleType | None) -> bool:
    """True for the CuPy namespace (a GPU array backend), False for numpy or ``None``.

    Parameters
    ----------
    xp : module or None
        An array namespace (as :func:`get_xp` returns), or ``None`` for "not given".

    Returns
    -------
    bool
        Whether ``xp`` is ``cupy``.

    Examples
    --------
    >>> is_gpu(np), is_gpu(None)
    (False, False)
    """
    return xp is not None and xp.__name__ == "cupy"


def device_kind(xp: ModuleType) -> str:
    """``'cpu'`` or ``'gpu'``: the device option that :func:`get_xp` maps back to ``xp``.

    Parameters
    ----------
    xp : module
        ``numpy`` or ``cupy``.

    Returns
    -------
    str
        ``'gpu'`` for CuPy, else ``'cpu'``.

    Examples
    --------
    >>> device_kind(np), get_xp(device_kind(np)) is np
    ('cpu', True)
    """
    return "gpu" if is_gpu(xp) else "cpu"


def device_name(xp: ModuleType) -> str:
    """``'cpu'`` or ``'gpu:<name>'``, recorded in provenance rows.

    Parameters
    ----------
    xp : module
        ``numpy`` or ``cupy`` (as :func:`get_xp` returns).

    Returns
    -------
    str
        ``'cpu'`` for NumPy; ``'gpu:<device name>'`` for CuPy (``'gpu'`` when the name is unreadable).

    Examples
    --------
    >>> device_name(np)
    'cpu'
    """
    if xp is np:
        return "cpu"
    try:
        props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
        return "gpu:" + props["name"].decode()
    except Exception:
        return "gpu"
