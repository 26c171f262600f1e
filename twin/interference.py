"""The co-channel interference operator: received power as a linear map of the utilisation.

``I_b(r) = sum_{j on the server's carrier} r_j P_j g_bj - r_s own_b`` for utilisation ``r``
(``min(rho, 1)``, Siomina & Yuan 2012). Each block holds columns (cells) of one carrier in
CSC form: rows ``0..n_bin-1`` are exact near links (minus the far-field interpolation at those
bins), rows ``n_bin + node`` are the cells' gains at the far-field lattice nodes, which are
interpolated to the bins after the product (docs/model.md, "Far-field interference"). A
what-if switches columns off with the block masks and appends blocks for the changed cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from twin.links import FarField


@dataclass(frozen=True)
class Block:
    """Columns of the co-channel power operator for some cells of one carrier."""

    carrier: int
    cols: NDArray[np.int64]     # [m] cell indices
    mask: NDArray[np.float64]   # [m] 1 = in use, 0 = superseded by a what-if's newer column
    mat: sp.csc_matrix          # [n_bin + n_node, m] received power (mW) at utilisation 1


@dataclass(frozen=True)
class Group:
    """Bins of one carrier in an interference evaluation, with their far-field weights."""

    carrier: int
    pos: NDArray[np.int64] | None  # [m] positions in the evaluation (None: all, in order)
    bins: NDArray[np.int64]     # [m]
    n00: NDArray[np.int64]      # [4, m] lattice nodes 00, 10, 01, 11 around each bin
    w: NDArray[np.float64]      # [4, m] their bilinear weights


@dataclass(frozen=True)
class Prepared:
    """The bins an interference evaluation needs, grouped by their server's carrier."""

    bins: NDArray[np.int64]     # [n]
    server: NDArray[np.int64]   # [n]
    own: NDArray[np.float64]    # [n] the server's own term, subtracted
    groups: list[Group]


class InterferenceOperator:
    """``I_b(r) = sum_j r_j P_j g_bj`` over cells on the server's carrier, minus the server.

    Rows ``0..n_bin-1`` of each block hold exact near links, corrected by minus the far-field
    interpolation at those bins; rows ``n_bin + node`` hold lattice gains, interpolated to the
    bins after the product. Shape notes: ``r`` is ``[n_cell]``.
    """

    def __init__(self, n_bin: int, far: FarField | None, blocks: list[Block]) -> None:
        self.n_bin = n_bin
        self.far = far
        self.n_node = far.nodes.n_bin if far is not None else 0
        self.blocks = blocks

    def prepare(self, bins: NDArray[np.int64], server: NDArray[np.int64],
                carrier_of_bin: NDArray[np.int64], own: NDArray[np.float64]) -> Prepared:
        car = carrier_of_bin[bins]
        if self.far is not None:
            sw, w_all = self.far.weights(bins)
            nx = self.far.nodes.nx
            n00_all = np.stack([sw, sw + 1, sw + nx, sw + nx + 1])
        if car.size == 0 or car.min() == car.max():
            parts = [(int(car[0]) if car.size else 0, None)]
        else:
            parts = [(int(f), np.flatnonzero(car == f)) for f in np.unique(car)]
        groups = []
        for f, pos in parts:
            b = bins if pos is None else bins[pos]
            if self.far is not None:
                n00 = n00_all if pos is None else n00_all[:, pos]
                w = w_all if pos is None else w_all[:, pos]
            else:
                n00, w = np.empty((4, 0), np.int64), np.empty((4, 0))
            groups.append(Group(f, pos, b, n00, w))
        return Prepared(bins, server[bins], own[bins], groups)

    def interference(self, r: NDArray[np.float64], prep: Prepared) -> NDArray[np.float64]:
        """Co-channel interference (mW) at ``prep.bins`` for utilisation ``r`` (<= 1)."""
        acc: dict[int, NDArray[np.float64]] = {}
        for blk in self.blocks:
            x = r[blk.cols] * blk.mask
            if not x.any():
                continue
            y = blk.mat @ x
            if blk.carrier in acc:
                acc[blk.carrier] += y
            else:
                acc[blk.carrier] = y
        out = np.zeros(prep.bins.size)
        for grp in prep.groups:
            a = acc.get(grp.carrier)
            if a is None:
                continue
            v = a[grp.bins]
            if self.far is not None:
                nodes = a[self.n_bin:]
                w, n00 = grp.w, grp.n00
                for q in range(4):
                    v += w[q] * nodes[n00[q]]
            if grp.pos is None:
                out = v
            else:
                out[grp.pos] = v
        out -= r[prep.server] * prep.own
        # The server's own term cancels up to rounding; interference is never negative.
        return np.maximum(out, 0.0)

    def jacobian(self, weight: NDArray[np.float64], prep: Prepared, n_cell: int
                 ) -> NDArray[np.float64]:
        """``[n_cell, n_cell]`` matrix ``J[c, j] = sum_{p: server(p) = c} weight_p
        dI_p / dr_j`` over the prepared bins ``p`` (``weight`` ``[n]``, aligned with
        ``prep.bins``), ignoring the clip of ``I`` at 0 (give those bins weight 0).

        It is ``S^T diag(weight) E M`` with ``S`` the bins' servers, ``E`` the selection and
        far-field interpolation of :meth:`interference` and ``M`` the blocks: the small sparse
        ``S^T diag(weight) E`` (duplicates summed) is multiplied by each block, so the cost is
        about one pass over the blocks' non-zeros."""
        n_rows = self.n_bin + self.n_node
        jac = np.zeros((n_cell, n_cell))
        for grp in prep.groups:
            pos = np.arange(prep.bins.size) if grp.pos is None else grp.pos
            srv, wt = prep.server[pos], weight[pos]
            rows, cols, vals = [srv], [grp.bins], [wt]
            if self.far is not None:
                for q in range(4):
                    rows.append(srv)
                    cols.append(self.n_bin + grp.n00[q])
                    vals.append(wt * grp.w[q])
            # Transposed (rows of the operator first) so that the product uses the blocks'
            # CSC arrays as CSR without a copy.
            zt = sp.csr_matrix((np.concatenate(vals), (np.concatenate(cols),
                                                       np.concatenate(rows))),
                               shape=(n_rows, n_cell))
            for blk in self.blocks:
                if blk.carrier != grp.carrier or not blk.mask.any():
                    continue
                prod = (blk.mat.T @ zt).toarray()  # [m, n_cell]
                jac[:, blk.cols] += (prod * blk.mask[:, None]).T
        # The server's own term is subtracted from the sum (it cancels up to rounding).
        own = np.bincount(prep.server, weights=weight * prep.own, minlength=n_cell)
        jac[np.diag_indices(n_cell)] -= own
        return jac
