"""The CUDA genus kernel without a GPU: its source compiles with nvcc (when the toolkit is there), and
the same source, compiled for the CPU with a C++ compiler and run one "thread" at a time through a
CuPy stand-in, gives the key rows of the numba kernel on every quantity and ensemble.

This checks the kernel's logic and the host side's argument types and order (each array's dtype is
matched against the kernel's C signature); launch geometry and device memory are left to the GPU
tests, which skip without cupy and a GPU.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import types

import numpy as np
import pytest

from graphexp_db.expand import gue_graph, trace_word_graph
from graphexp_db.genus_cuda import _CUDA_SRC
from graphexp_db.genus_kernel import pairing_keys
from graphexp_db.pair import PairingSpace

_PRELUDE = r"""
struct graphexp_dim3 { unsigned x, y, z; };
extern "C" { graphexp_dim3 blockIdx = {0, 0, 0}, blockDim = {1, 1, 1}, threadIdx = {0, 0, 0}; }
#define __global__
"""
_C_TYPES = {"long long": (ctypes.c_longlong, np.int64), "int": (ctypes.c_int, np.int32)}


class _CpuRawKernel:
    """cupy.RawKernel stand-in: the CUDA source built as a shared library, one call per thread."""

    def __init__(self, src: str, name: str, tmp):
        so, cpp = tmp / f"{name}.so", tmp / f"{name}.cpp"
        cpp.write_text(_PRELUDE + src)
        subprocess.run([shutil.which("g++"), "-O1", "-shared", "-fPIC", "-o", str(so), str(cpp)], check=True)
        self.lib = ctypes.CDLL(str(so))
        self.fn = getattr(self.lib, name)
        params = re.search(name + r"\s*\((.*?)\)\s*\{", src, re.S).group(1)
        self.params = []
        for p in params.split(","):
            m = re.match(r"\s*(?:const\s+)?(long long|int)\s*(\*?)\s*(\w+)", p)
            self.params.append((m.group(1), bool(m.group(2)), m.group(3)))

    def __call__(self, grid, block, args):
        assert len(args) == len(self.params), (len(args), self.params)
        cargs = []
        for (ctype, is_ptr, pname), a in zip(self.params, args):
            ct, dt = _C_TYPES[ctype]
            if is_ptr:
                assert isinstance(a, np.ndarray) and a.dtype == dt and a.flags.c_contiguous, (pname, getattr(a, "dtype", a))
                cargs.append(a.ctypes.data_as(ctypes.c_void_p))
            else:
                assert np.asarray(a).dtype == dt, (pname, type(a))
                cargs.append(ct(int(a)))
        bidx = _Dim3.in_dll(self.lib, "blockIdx")
        bdim = _Dim3.in_dll(self.lib, "blockDim")
        tidx = _Dim3.in_dll(self.lib, "threadIdx")
        bdim.x = block[0]
        for bx in range(grid[0]):
            bidx.x = bx
            for tx in range(block[0]):
                tidx.x = tx
                self.fn(*cargs)


class _Dim3(ctypes.Structure):
    _fields_ = [("x", ctypes.c_uint), ("y", ctypes.c_uint), ("z", ctypes.c_uint)]


def _fake_cupy(tmp):
    xp = types.SimpleNamespace(__name__="cupy", int64=np.int64, int32=np.int32, kernels=[])
    xp.RawKernel = lambda src, name: xp.kernels.append(name) or _CpuRawKernel(src, name, tmp)
    xp.empty = np.empty
    xp.asarray = np.ascontiguousarray
    return xp


GRAPHS = [("gue n=5", gue_graph(5), "gaussian"),
          ("complex trace p=2 k=3", trace_word_graph(2, 3), "complex"),
          ("real trace p=1 k=4", trace_word_graph(1, 4), "gaussian"),
          ("real trace p=3 k=2", trace_word_graph(3, 2), "gaussian")]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a C++ compiler (g++) to run the CUDA source on the CPU")
@pytest.mark.parametrize("what,graph,ensemble", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_cuda_source_run_on_the_cpu_equals_the_numba_kernel(what, graph, ensemble, tmp_path):
    total = PairingSpace(graph, ensemble).total
    rng = np.random.default_rng(0)
    for start in [0, int(rng.integers(0, max(total - 300, 1)))]:
        stop = min(total, start + 300)
        want = pairing_keys(graph, ensemble, start, stop)
        xp = _fake_cupy(tmp_path)
        got = pairing_keys(graph, ensemble, start, stop, xp=xp)
        assert xp.kernels == ["pairing_keys"]          # the CUDA path ran, not a host fallback
        assert got.shape == want.shape and (got == want).all(), what


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs the CUDA toolkit (nvcc) to compile the kernel source")
def test_cuda_source_compiles_with_nvcc(tmp_path):
    src = tmp_path / "k.cu"
    src.write_text("#define MAXN 40\n#define MAXS 80\n" + _CUDA_SRC)
    r = subprocess.run(["nvcc", "--ptx", "-o", str(tmp_path / "k.ptx"), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert ".entry pairing_keys" in (tmp_path / "k.ptx").read_text()
