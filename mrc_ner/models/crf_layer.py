"""A small, vectorized linear-chain CRF in torch (used by ``crf``, ``partbert-crf``, ``bilstm-crf``).

Why not a package: the maintained-looking candidate, ``pytorch-crf`` (0.7.2), had its
last release in February 2019 (classifiers stop at Python 3.7); its Viterbi backtracks
in a Python loop per sequence, it has no transition constraints and no marginals, and
it requires the first time step of every sequence to be valid (our compacted windows can
be empty). ``torchcrf`` (2020) and ``torch-struct`` (2021) are unmaintained too. The CRF
itself is ~150 lines, so it is written here and tested against brute-force enumeration
of every tag sequence (``tests/test_crf.py``).

Conventions
-----------
* ``emissions`` ``(B, T, C)``, ``tags`` ``(B, T)`` (long), ``mask`` ``(B, T)`` bool.
* The mask marks valid positions, which must be a **prefix** of each row (rows may be
  empty). :func:`compact` moves scattered valid positions (unit-first sub-tokens) to the
  front so that holds.
* ``transitions[i, j]`` scores tag ``i`` followed by tag ``j``; ``start_transitions`` and
  ``end_transitions`` score the first and last tag.

IOB2 constraints
----------------
With ``tag_names`` given and ``constrained=True`` (the default), decoding
(:meth:`CRF.viterbi`, :meth:`CRF.marginals`) forbids the transitions that cannot occur
in IOB2: ``O → I-x``, ``B-x/I-x → I-y`` (``y ≠ x``) and starting a sequence with
``I-x``. Training (:meth:`CRF.log_likelihood`) is unconstrained: gold sequences never
use those transitions, so the learned scores for them only go down anyway, and the
constraint just makes sure decoding never produces an orphan ``I-``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

#: score given to a forbidden transition at decoding time (finite: keeps logsumexp NaN-free)
FORBIDDEN = -1e4


def iob2_allowed(tag_names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(allowed (C, C), allowed_start (C,))`` boolean tables of legal IOB2 moves.

    >>> allowed, start = iob2_allowed(["O", "B-x", "I-x", "B-y", "I-y"])
    >>> allowed[0].tolist(), allowed[1].tolist(), start.tolist()
    ([True, True, False, True, False], [True, True, True, True, False], [True, True, False, True, False])
    """
    n = len(tag_names)
    allowed = torch.ones(n, n, dtype=torch.bool)
    start = torch.ones(n, dtype=torch.bool)
    for j, to in enumerate(tag_names):
        if not to.startswith("I-"):
            continue
        start[j] = False
        for i, frm in enumerate(tag_names):
            allowed[i, j] = frm[:2] in ("B-", "I-") and frm[2:] == to[2:]
    return allowed, start


def compact(
    emissions: torch.Tensor, labels_or_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Gather the kept positions of each row to the front: ``(emissions, tags, mask)``.

    ``labels_or_mask`` is either a long tensor of labels (kept where ``!= -100``; the
    compacted tags are returned, padded with 0) or a bool mask of the positions to keep
    (then ``tags`` is ``None``). The result is trimmed to the longest row; ``mask`` is a
    prefix mask.

    >>> em = torch.arange(8.).reshape(1, 4, 2)
    >>> e, t, m = compact(em, torch.tensor([[-100, 1, -100, 0]]))
    >>> e[0, :, 0].tolist(), t.tolist(), m.tolist()
    ([2.0, 6.0], [[1, 0]], [[True, True]])
    """
    is_labels = labels_or_mask.dtype != torch.bool
    keep = labels_or_mask != -100 if is_labels else labels_or_mask
    lengths = keep.sum(1)
    width = int(lengths.max()) if keep.numel() else 0
    # a stable sort of "not kept" puts the kept positions first, in their original order
    order = torch.sort((~keep).to(torch.int32), dim=1, stable=True).indices[:, :width]
    em = emissions.gather(1, order.unsqueeze(-1).expand(-1, -1, emissions.size(-1)))
    mask = torch.arange(width, device=emissions.device).unsqueeze(0) < lengths.unsqueeze(1)
    tags = None
    if is_labels:
        tags = labels_or_mask.gather(1, order).masked_fill(~mask, 0)
    return em, tags, mask


class CRF(nn.Module):
    """Linear-chain CRF over ``num_tags`` tags (see the module docstring)."""

    #: legal tag moves (``allowed[i, j]``: tag ``j`` may follow tag ``i``) and legal first tags (buffers)
    allowed: torch.Tensor
    allowed_start: torch.Tensor

    def __init__(self, num_tags: int, *, tag_names: Sequence[str] | None = None, constrained: bool = True) -> None:
        super().__init__()
        self.num_tags = int(num_tags)
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.start_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        if constrained and tag_names is not None:
            if len(tag_names) != num_tags:
                raise ValueError(f"{len(tag_names)} tag names for {num_tags} tags")
            allowed, start = iob2_allowed(tag_names)
        else:
            allowed, start = torch.ones(num_tags, num_tags, dtype=torch.bool), torch.ones(num_tags, dtype=torch.bool)
        # derived from the options, so not saved with the weights
        self.register_buffer("allowed", allowed, persistent=False)
        self.register_buffer("allowed_start", start, persistent=False)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}, constrained={not bool(self.allowed.all())}"

    # ------------------------------------------------------------------ scores
    def _scores(self, constrained: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not constrained:
            return self.transitions, self.start_transitions, self.end_transitions
        return (
            self.transitions.masked_fill(~self.allowed, FORBIDDEN),
            self.start_transitions.masked_fill(~self.allowed_start, FORBIDDEN),
            self.end_transitions,
        )

    def _forward_alphas(self, emissions: torch.Tensor, mask: torch.Tensor, trans, start) -> torch.Tensor:
        """``alpha[b, t, j]``: log-sum of all paths ending in tag ``j`` at ``t`` (carried past the end)."""
        alpha = start + emissions[:, 0]
        out = [alpha]
        for t in range(1, emissions.size(1)):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)
            out.append(alpha)
        return torch.stack(out, 1)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor, *, constrained: bool = False) -> torch.Tensor:
        """``log Z`` per sequence ``(B,)`` by the forward algorithm (0 for empty rows)."""
        trans, start, end = self._scores(constrained)
        if emissions.size(1) == 0:
            return emissions.new_zeros(emissions.size(0))
        alpha = self._forward_alphas(emissions, mask, trans, start)[:, -1]
        logz = torch.logsumexp(alpha + end, dim=1)
        return torch.where(mask[:, 0], logz, torch.zeros_like(logz))

    def sequence_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalized score of the given tag sequences ``(B,)`` (0 for empty rows)."""
        if emissions.size(1) == 0:
            return emissions.new_zeros(emissions.size(0))
        tags = tags.masked_fill(~mask, 0)
        m = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)
        score = (emit * m).sum(1) + self.start_transitions[tags[:, 0]] * m[:, 0]
        if tags.size(1) > 1:
            score = score + (self.transitions[tags[:, :-1], tags[:, 1:]] * m[:, 1:]).sum(1)
        last = (mask.sum(1) - 1).clamp(min=0)
        score = score + self.end_transitions[tags.gather(1, last.unsqueeze(1)).squeeze(1)] * m[:, 0]
        return score

    def log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``log p(tags | emissions)`` per sequence ``(B,)``; empty rows give 0."""
        return self.sequence_score(emissions, tags, mask) - self.log_partition(emissions, mask)

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor, *, constrained: bool = True) -> list[list[int]]:
        """The best tag sequence of every row (length = the row's valid prefix)."""
        B, T, _ = emissions.shape
        lengths = mask.sum(1).tolist()
        if T == 0:
            return [[] for _ in range(B)]
        trans, start, end = self._scores(constrained)
        score = start + emissions[:, 0]
        history = []
        for t in range(1, T):
            best, idx = (score.unsqueeze(2) + trans + emissions[:, t].unsqueeze(1)).max(dim=1)
            score = torch.where(mask[:, t : t + 1], best, score)
            history.append(idx)
        last = (score + end).argmax(dim=1).tolist()
        hist = torch.stack(history, 0).cpu().numpy() if history else None  # (T-1, B, C)
        paths: list[list[int]] = []
        for b, n in enumerate(lengths):
            if n == 0:
                paths.append([])
                continue
            tag = last[b]
            path = [tag]
            for t in range(n - 1, 0, -1):
                tag = int(hist[t - 1, b, tag])  # type: ignore[index]
                path.append(tag)
            paths.append(path[::-1])
        return paths

    @torch.no_grad()
    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor, *, constrained: bool = True) -> torch.Tensor:
        """Posterior ``p(tag_t = j | emissions)`` ``(B, T, C)`` by forward-backward (0 past the end)."""
        B, T, C = emissions.shape
        if T == 0:
            return emissions.new_zeros(B, T, C)
        trans, start, end = self._scores(constrained)
        alpha = self._forward_alphas(emissions, mask, trans, start)
        betas = [end.expand(B, C)]
        beta = betas[0]
        for t in range(T - 2, -1, -1):
            nxt = torch.logsumexp(trans + (emissions[:, t + 1] + beta).unsqueeze(1), dim=2)
            beta = torch.where(mask[:, t + 1 : t + 2], nxt, end.expand(B, C))
            betas.append(beta)
        beta_all = torch.stack(betas[::-1], 1)
        logz = torch.logsumexp(alpha[:, -1] + end, dim=1)
        probs = torch.exp(alpha + beta_all - logz[:, None, None])
        return probs * mask.unsqueeze(-1).to(probs.dtype)

    @torch.no_grad()
    def tables(self, *, constrained: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(transitions, start, end)`` as float64 numpy arrays, constraints applied."""
        return tuple(x.detach().double().cpu().numpy() for x in self._scores(constrained))  # type: ignore[return-value]

    def decode(
        self, emissions: torch.Tensor | np.ndarray, *, constrained: bool = True
    ) -> tuple[list[int], list[float]]:
        """One sequence ``(T, C)`` → best tags and each chosen tag's marginal probability.

        Runs in numpy on the CPU (:func:`decode_sequence`): for one sentence at a time
        that is several times faster than torch's per-op overhead, on a GPU as well.
        """
        em = emissions.detach().cpu().numpy() if isinstance(emissions, torch.Tensor) else np.asarray(emissions)
        return decode_sequence(em, *self.tables(constrained=constrained))


def decode_sequence(
    emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[list[int], list[float]]:
    """Viterbi path of one sequence ``(T, C)`` and the posterior marginal of each chosen tag.

    Viterbi in log space; marginals by the scaled forward-backward algorithm (each
    step normalized, so nothing overflows). Same results as :meth:`CRF.viterbi` and
    :meth:`CRF.marginals` on one unmasked row.

    >>> decode_sequence(np.array([[2.0, 0.0], [0.0, 2.0]]), np.zeros((2, 2)), np.zeros(2), np.zeros(2))[0]
    [0, 1]
    """
    em = np.asarray(emissions, dtype=np.float64)
    T = em.shape[0]
    if T == 0:
        return [], []
    # Viterbi
    score = start + em[0]
    back = np.zeros((T, em.shape[1]), dtype=np.int64)
    cols = np.arange(em.shape[1])
    for t in range(1, T):
        cand = score[:, None] + transitions
        back[t] = cand.argmax(0)
        score = cand[back[t], cols] + em[t]
    path = [int((score + end).argmax())]
    for t in range(T - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    path.reverse()
    # scaled forward-backward
    E = np.exp(transitions - transitions.max())
    P = np.exp(em - em.max(1, keepdims=True))
    alpha = np.empty_like(em)
    a = np.exp(start - start.max()) * P[0]
    alpha[0] = a / a.sum()
    for t in range(1, T):
        a = (alpha[t - 1] @ E) * P[t]
        alpha[t] = a / a.sum()
    beta = np.empty_like(em)
    b = np.exp(end - end.max())
    beta[T - 1] = b / b.sum()
    for t in range(T - 2, -1, -1):
        b = E @ (P[t + 1] * beta[t + 1])
        beta[t] = b / b.sum()
    marg = alpha * beta
    with np.errstate(invalid="ignore", divide="ignore"):
        marg = np.nan_to_num(marg / marg.sum(1, keepdims=True))  # a row underflowing to 0 stays 0
    return path, [float(marg[t, j]) for t, j in enumerate(path)]
