"""The CRF layer against brute-force enumeration of every tag sequence."""

from __future__ import annotations

import itertools

import pytest
import torch

from mrc_ner.models.crf_layer import CRF, compact, decode_sequence, iob2_allowed

TAGS3 = ["O", "B-x", "I-x"]


@torch.no_grad()
def brute_force(crf: CRF, em: torch.Tensor, n: int, *, constrained: bool):
    """(log Z, best path, marginals) of one row's first ``n`` positions by enumeration."""
    trans, start, end = crf._scores(constrained)
    C = em.size(-1)
    scores = {}
    for path in itertools.product(range(C), repeat=n):
        s = start[path[0]] + em[0, path[0]] + end[path[-1]]
        for t in range(1, n):
            s = s + trans[path[t - 1], path[t]] + em[t, path[t]]
        scores[path] = s
    stacked = torch.stack(list(scores.values()))
    logz = torch.logsumexp(stacked, 0)
    best = max(scores, key=lambda p: float(scores[p]))
    marg = torch.zeros(n, C, dtype=em.dtype)
    for path, s in scores.items():
        w = torch.exp(s - logz)
        for t, j in enumerate(path):
            marg[t, j] += w
    return logz, list(best), marg, scores


def random_crf(seed: int, *, constrained: bool) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(3, tag_names=TAGS3, constrained=constrained).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_(0, 1.0)
    return crf


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("constrained", [False, True])
def test_partition_viterbi_marginals_match_brute_force(seed: int, constrained: bool) -> None:
    crf = random_crf(seed, constrained=constrained)
    lengths = [4, 1, 3, 2]
    B, T = len(lengths), max(lengths)
    em = torch.randn(B, T, 3, dtype=torch.double, generator=torch.Generator().manual_seed(100 + seed)) * 2
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    tags = torch.randint(0, 3, (B, T), generator=torch.Generator().manual_seed(200 + seed))
    logz = crf.log_partition(em, mask, constrained=constrained).detach()
    paths = crf.viterbi(em, mask, constrained=constrained)
    marg = crf.marginals(em, mask, constrained=constrained)
    ll = crf.log_likelihood(em, tags, mask).detach()
    for b, n in enumerate(lengths):
        bz, best, bmarg, _scores = brute_force(crf, em[b], n, constrained=constrained)
        assert float(logz[b]) == pytest.approx(float(bz), abs=1e-9)
        assert paths[b] == best
        assert torch.allclose(marg[b, :n], bmarg, atol=1e-9)
        assert torch.all(marg[b, n:] == 0)
        # the likelihood uses the unconstrained scores
        _, _, _, free = brute_force(crf, em[b], n, constrained=False)
        gold = tuple(tags[b, :n].tolist())
        expect = free[gold] - torch.logsumexp(torch.stack(list(free.values())), 0)
        assert float(ll[b]) == pytest.approx(float(expect), abs=1e-9)


def test_constrained_viterbi_never_emits_orphan_inside_tags() -> None:
    crf = CRF(3, tag_names=TAGS3)
    with torch.no_grad():
        crf.transitions.zero_()
    em = torch.tensor([[[0.0, 0.0, 5.0], [5.0, 0.0, 0.0], [0.0, 0.0, 5.0]]])  # emissions favour I-x after O
    path = crf.viterbi(em, torch.ones(1, 3, dtype=torch.bool))[0]
    names = [TAGS3[i] for i in path]
    for prev, cur in zip(["O"] + names, names):
        assert not (cur == "I-x" and prev == "O"), names
    assert crf.viterbi(em, torch.ones(1, 3, dtype=torch.bool), constrained=False)[0] == [2, 0, 2]


def test_iob2_allowed_table() -> None:
    allowed, start = iob2_allowed(["O", "B-a", "I-a", "B-b", "I-b"])
    assert (
        not allowed[0, 2]
        and not allowed[1, 4]
        and not allowed[2, 4]
        and allowed[1, 2]
        and allowed[2, 2]
        and allowed[4, 3]
    )
    assert start.tolist() == [True, True, False, True, False]


def test_empty_rows_and_empty_batch() -> None:
    crf = CRF(3, tag_names=TAGS3)
    em = torch.randn(2, 3, 3)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert crf.viterbi(em, mask)[1] == []
    assert float(crf.log_likelihood(em, torch.zeros(2, 3, dtype=torch.long), mask).detach()[1]) == 0.0
    assert crf.viterbi(torch.zeros(2, 0, 3), torch.zeros(2, 0, dtype=torch.bool)) == [[], []]
    assert crf.log_partition(torch.zeros(2, 0, 3), torch.zeros(2, 0, dtype=torch.bool)).tolist() == [0.0, 0.0]


def test_compact_gathers_kept_positions_left() -> None:
    em = torch.arange(2 * 5 * 2, dtype=torch.float).reshape(2, 5, 2)
    labels = torch.tensor([[-100, 2, -100, 0, -100], [-100, -100, -100, -100, 1]])
    e, t, m = compact(em, labels)
    assert m.tolist() == [[True, True], [True, False]]
    assert t.tolist() == [[2, 0], [1, 0]]
    assert e[0, :, 0].tolist() == [2.0, 6.0] and e[1, 0, 0].item() == 18.0
    e2, t2, m2 = compact(em, labels != -100)
    assert t2 is None and torch.equal(e2, e) and torch.equal(m2, m)


def test_gradient_flows_to_emissions_and_transitions() -> None:
    crf = CRF(3, tag_names=TAGS3)
    em = torch.randn(2, 4, 3, requires_grad=True)
    labels = torch.tensor([[-100, 1, 2, -100], [0, -100, 1, 2]])
    e, t, m = compact(em, labels)
    loss = -crf.log_likelihood(e, t, m).sum()
    loss.backward()
    assert em.grad is not None and em.grad.abs().sum() > 0
    assert em.grad[0, 0].abs().sum() == 0  # ignored position gets no gradient
    for p in (crf.transitions, crf.start_transitions, crf.end_transitions):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_training_the_crf_alone_recovers_the_gold_path() -> None:
    torch.manual_seed(0)
    crf = CRF(3, tag_names=TAGS3)
    em = torch.zeros(1, 4, 3, requires_grad=True)
    gold = torch.tensor([[1, 2, 0, 1]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    opt = torch.optim.Adam([em, *crf.parameters()], lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        (-crf.log_likelihood(em, gold, mask).sum()).backward()
        opt.step()
    assert crf.viterbi(em.detach(), mask)[0] == [1, 2, 0, 1]


@pytest.mark.parametrize("scale", [1.0, 50.0])
@pytest.mark.parametrize("constrained", [False, True])
def test_numpy_decoder_matches_torch(scale: float, constrained: bool) -> None:
    names = ["O", "B-a", "I-a", "B-b", "I-b"]
    gen = torch.Generator().manual_seed(7)
    for _ in range(20):
        crf = CRF(5, tag_names=names, constrained=constrained).double()
        with torch.no_grad():
            for p in crf.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.double) * 2)
        T = int(torch.randint(1, 12, (1,), generator=gen))
        em = torch.randn(1, T, 5, generator=gen, dtype=torch.double) * scale
        mask = torch.ones(1, T, dtype=torch.bool)
        path, probs = crf.decode(em[0])
        assert path == crf.viterbi(em, mask)[0]
        marg = crf.marginals(em, mask)[0]
        assert probs == pytest.approx([float(marg[t, j]) for t, j in enumerate(path)], abs=1e-9)
    assert decode_sequence(torch.zeros(0, 5).numpy(), *crf.tables()) == ([], [])
