"""Every method end to end on the tiny encoder: train a few steps, save, load, same predictions."""

from __future__ import annotations

import pytest
import torch

from mrc_ner.errors import InputError
from mrc_ner.evaluation import Scores
from mrc_ner.models import load_tagger, tagger_class
from mrc_ner.models.crf import encoder_layers
from mrc_ner.training import TrainArgs

METHODS = ["softmax", "hf-softmax", "crf", "partbert-crf", "bilstm-crf", "mrc", "mrc-packed"]


def make(method: str, encoder, corpus, **kw):
    extra = {"train_sentences": corpus.sentences, "query_kind": "simple"} if method.startswith("mrc") else {}
    length = {"mrc": 40, "mrc-packed": 64}.get(method, 24)  # room for the queries next to a short context
    return tagger_class(method).create(
        str(encoder), corpus.labels, max_length=kw.pop("max_length", length), overlap=4, **extra, **kw
    )


@pytest.mark.parametrize("method", METHODS)
def test_train_save_load_roundtrip(method, tiny_encoder, sample_cbp_corpus, tmp_path) -> None:
    sents = sample_cbp_corpus.sentences
    train, dev, test = sents[:24], sents[24:30], sents[30:42]
    tagger = make(method, tiny_encoder, sample_cbp_corpus)
    feats, _ = tagger.features(test, with_labels=False)
    per_sentence = [sum(f.sentence == i for f in feats) for i in range(len(test))]
    assert max(per_sentence) > min(per_sentence), "max_length should force some sentences into several windows"
    state = tagger.fit(
        train, dev, TrainArgs(epochs=1, max_steps=3, batch_size=8, out_dir=str(tmp_path / "model")), progress=False
    )
    assert state.step == 3
    before = tagger.predict(test)
    loaded = load_tagger(tmp_path / "model")
    assert type(loaded) is type(tagger) and loaded.method == method
    assert loaded.predict(test) == before
    for k, v in tagger.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    scores = loaded.evaluate(test)
    assert isinstance(scores, Scores) and 0.0 <= scores.micro.f1 <= 1.0
    for spans, s in zip(before, test):
        for sp in spans:
            assert 0 <= sp.start < sp.end <= len(s.text) and sp.score is not None and 0.0 <= sp.score <= 1.0 + 1e-6


def test_partbert_freezes_all_but_the_last_layers(tiny_encoder, sample_cbp_corpus, tmp_path) -> None:
    tagger = make("partbert-crf", tiny_encoder, sample_cbp_corpus, options={"trainable_layers": 1})
    layers = encoder_layers(tagger.encoder)
    assert len(layers) == 2
    assert not any(p.requires_grad for p in tagger.encoder.embeddings.parameters())
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for p in layers[1].parameters())
    assert all(p.requires_grad for p in tagger.head_parameters())
    frozen = {k: v.clone() for k, v in layers[0].state_dict().items()}
    top = {k: v.clone() for k, v in layers[1].state_dict().items()}
    tagger.fit(
        sample_cbp_corpus.sentences[:16],
        None,
        TrainArgs(
            epochs=1,
            max_steps=3,
            batch_size=8,
            encoder_lr=1e-2,
            warmup_ratio=0.0,
            freeze_embeddings=False,
            out_dir=str(tmp_path / "m"),
        ),
        progress=False,
    )
    assert all(torch.equal(v, layers[0].state_dict()[k]) for k, v in frozen.items())
    assert any(not torch.equal(v, layers[1].state_dict()[k]) for k, v in top.items())
    loaded = load_tagger(tmp_path / "m")
    assert not any(p.requires_grad for p in encoder_layers(loaded.encoder)[0].parameters())
    # more trainable layers than the encoder has: every layer trains, embeddings stay frozen
    deep = make("partbert-crf", tiny_encoder, sample_cbp_corpus)
    assert deep.options["trainable_layers"] == 4
    assert all(p.requires_grad for p in encoder_layers(deep.encoder).parameters())
    assert not any(p.requires_grad for p in deep.encoder.embeddings.parameters())


@pytest.mark.parametrize("method", ["crf", "bilstm-crf"])
def test_crf_taggers_memorize_a_few_sentences(method, tiny_encoder, sample_cbp_corpus) -> None:
    sents = [s for s in sample_cbp_corpus.sentences if s.spans][:8]
    tagger = make(method, tiny_encoder, sample_cbp_corpus, max_length=64)
    assert tagger.evaluate(sents).micro.f1 < 0.2
    torch.manual_seed(0)
    tagger.fit(
        sents,
        None,
        TrainArgs(
            epochs=60, batch_size=8, encoder_lr=3e-3, head_lr=3e-2, warmup_ratio=0.0, freeze_embeddings=False, seed=0
        ),
        progress=False,
    )
    assert tagger.evaluate(sents).micro.f1 >= 0.8


def test_crf_decoding_spans_whole_sentence_across_windows(tiny_encoder, sample_cbp_corpus) -> None:
    """With windows, Viterbi still runs once per sentence: the output is valid IOB2 over all units."""
    tagger = make("crf", tiny_encoder, sample_cbp_corpus)
    long = max(sample_cbp_corpus.sentences, key=lambda s: len(s.text))
    al = tagger.align(long)
    assert len(tagger.windows(len(al.input_ids))) > 1
    _, (outputs,) = tagger.run_features([long])
    em = tagger.unit_emissions(al, outputs)
    path, probs = tagger.crf.decode(torch.as_tensor(em))
    assert len(path) == len(al.units) and all(0.0 <= p <= 1.0 + 1e-6 for p in probs)
    names = [tagger.tag_names[i] for i in path]
    for prev, cur in zip(["O"] + names, names):
        if cur.startswith("I-"):
            assert prev[2:] == cur[2:], names


def test_unknown_option_is_an_input_error(tiny_encoder, sample_cbp_corpus) -> None:
    from mrc_ner.errors import InputError

    with pytest.raises(InputError, match="no option"):
        make("crf", tiny_encoder, sample_cbp_corpus, options={"trainable_layers": 2})
    with pytest.raises(InputError, match="lstm_hidden"):
        make("bilstm-crf", tiny_encoder, sample_cbp_corpus, options={"lstm_hidden": 3})


def test_hf_softmax_uses_the_tokenizers_word_handling_and_its_recipe(tiny_encoder, sample_cbp_corpus) -> None:
    tagger = make("hf-softmax", tiny_encoder, sample_cbp_corpus, align_mode="char")
    s = sample_cbp_corpus.sentences[0]
    assert tagger.mode_for(s) == "word"  # every character a word, as is_split_into_words does
    enc = tagger.tokenizer(s.words, is_split_into_words=True, add_special_tokens=False)
    assert tagger.align(s).input_ids == enc["input_ids"]
    assert tagger.train_recipe["freeze_embeddings"] is False and tagger.train_recipe["negative_ratio"] == 1.0
    assert tagger.train_recipe["attention_dropout"] is None  # the encoder's own, unlike mrc-ner's default 0
    assert float(tagger.classifier.bias.detach().abs().sum()) == 0.0
    assert (
        0.0 < float(tagger.classifier.weight.detach().std()) < 0.05
    )  # N(0, initializer_range), not nn.Linear's default


@pytest.mark.parametrize("method", ["softmax", "crf"])
def test_runs_decoding_gives_a_type_switching_run_one_entity(method, tiny_encoder, sample_cbp_corpus) -> None:
    from mrc_ner.encoding.alignment import Aligned

    aligned = Aligned([5] * 6, list(range(6)), [(i, i + 1) for i in range(6)])
    seqeval = make(method, tiny_encoder, sample_cbp_corpus, options={"decode": "seqeval"})
    runs = make(method, tiny_encoder, sample_cbp_corpus)  # runs is the default
    names = seqeval.tag_names
    tags = ["B-protein", "B-gene", "I-gene", "I-gene", "O", "B-gene"]
    ids = [names.index(t) for t in tags]
    scores = [0.5, 0.9, 0.9, 0.8, 1.0, 0.7]
    assert [(sp.start, sp.end, sp.label) for sp in seqeval.tags_to_spans(aligned, ids, scores)] == [
        (0, 1, "protein"),
        (1, 4, "gene"),
        (5, 6, "gene"),
    ]
    assert [(sp.start, sp.end, sp.label) for sp in runs.tags_to_spans(aligned, ids, scores)] == [
        (0, 4, "gene"),
        (5, 6, "gene"),
    ]
    bad = make(method, tiny_encoder, sample_cbp_corpus, options={"decode": "majority"})
    with pytest.raises(InputError, match="unknown decoding"):
        bad.tags_to_spans(aligned, ids, scores)


def test_softmax_prior_bias_is_the_log_share_of_each_tag(tiny_encoder, sample_cbp_corpus) -> None:
    sents = sample_cbp_corpus.sentences[:20]
    t = make("softmax", tiny_encoder, sample_cbp_corpus, options={"prior_bias": True})
    feats, _ = t.features(sents, with_labels=True)
    t.prepare_heads(feats)
    counts = torch.ones(t.num_tags)
    for f in feats:
        for v in f.labels["labels"]:
            if v >= 0:
                counts[v] += 1
    probs = torch.softmax(t.classifier.bias.detach(), -1)
    assert torch.allclose(probs, counts / counts.sum(), atol=1e-6)
    assert int(probs.argmax()) == t.tag_names.index("O")
