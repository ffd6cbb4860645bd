"""What the pages compute from typed inputs, bundled so that one bounded child process
(:func:`bounded.run_bounded`) answers one button.  Each function parses its text inputs itself, so
parsing runs under the same time and memory budget as the numbers."""

from __future__ import annotations


def kernels(arch: str, act: str, x: list, y: list) -> list[dict]:
    """NNGP and NTK limits; for polynomial activations also the exact leading-order graph sums."""
    from graphexp_db import finite, limits
    from graphexp_db.spec import parse_activation, parse_arch

    spec, phi = parse_arch(arch), parse_activation(act)
    rows = [{"kernel": "NNGP", "value": str(limits.nngp_limit(spec, phi, x, y))},
            {"kernel": "NTK", "value": str(limits.ntk_limit(spec, phi, x, y))}]
    if str(act).strip().startswith("poly:"):
        rows.append({"kernel": "NNGP (graph sum)", "value": str(finite.leading_covariance(spec, phi, x, y))})
        rows.append({"kernel": "NTK (graph sum)", "value": str(finite.leading_ntk(spec, phi, x, y))})
    return rows


def covariance_series(arch: str, act: str, x: list, y: list) -> dict:
    """Exact finite-width series E[f(x) f(y)] = sum_j a_j N^-j (polynomial activations)."""
    from graphexp_db import finite
    from graphexp_db.spec import parse_arch

    return finite.covariance_series(parse_arch(arch), act, x, y)


def resnet_depths(sw: str, act: str, depths: list, x: list, y: list) -> list[dict]:
    """C_L(x, y) at infinite width for each depth, then the ODE limit (``L = inf``)."""
    from graphexp_db import limits

    rows = [{"L": str(L), "C_L(x,y)": float(limits.resnet_covariance(f"resnet:L={L},sw={sw}", act, x, y))} for L in depths]
    rows.append({"L": "inf", "C_L(x,y)": float(limits.resnet_covariance(f"resnet:L=inf,sw={sw}", act, x, y))})
    return rows


MC_WIDTHS = (4, 8, 16, 32)


def finite_vs_mc(arch: str, act: str, x: list, y: list, max_order: int | None, mc: bool, samples: int = 20_000) -> dict:
    """The finite-width series of E[f(x) f(y)] (exact for polynomial activations, N^0..N^-J with
    quadrature errors otherwise) and, with ``mc``, Monte Carlo estimates at N = 4, 8, 16, 32
    (``simulate kernel``: fixed seed, standard errors)."""
    from graphexp_db import finite
    from graphexp_db.montecarlo import kernel_estimate
    from graphexp_db.spec import parse_arch

    spec = parse_arch(arch)
    s = finite.covariance_series(spec, act, x, y, max_order=max_order)
    out = {"coefficients": {j: float(v) for j, v in s.items()},
           "exact": {j: str(v) for j, v in s.items()} if s.exact else None,
           "errors": dict(s.errors), "method": s.method, "max_order": s.max_order, "oracle": s.oracle, "mc": []}
    if mc:
        for N in MC_WIDTHS:
            r = kernel_estimate(spec, act, x, y, N=N, samples=samples, seed=N)
            out["mc"].append({"N": N, "mean": float(r["nngp"]), "stderr": float(r["nngp_stderr"])})
    return out
