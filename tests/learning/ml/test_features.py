"""Features: word/char TF-IDF, URL and domain tokens, hashing, plain-state rebuild."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

from learning.ml.fast_counts import CharWordCounts, WordNgramCounts
from learning.ml.features import (
    FeatureConfig,
    Featurizer,
    fit_featurizer,
    fit_transform,
    url_document,
    url_tokens,
)


def test_url_tokens_give_every_domain_suffix_host_labels_tld_and_path_words():
    tokens = url_tokens("https://www.Forum.Example.co.uk/threads/self-harm?id=12&q=help")

    assert {"d:forum.example.co.uk", "d:example.co.uk", "d:co.uk"} <= set(tokens)
    assert {"h:forum", "h:example", "h:co", "tld:uk"} <= set(tokens)
    assert {"p:threads", "p:self", "p:harm", "p:id", "p:12", "p:help"} <= set(tokens)
    assert "d:www.forum.example.co.uk" not in tokens  # www. is not a different site


def test_url_tokens_accept_bare_domains_and_survive_malformed_urls():
    assert "d:casino-royal.bet" in url_tokens("casino-royal.bet/slots")
    assert url_tokens("") == []
    assert url_tokens("http://[::1") == ["p:http"]  # a bad IPv6 literal: words only, no crash


def test_an_ip_address_or_a_one_label_host_is_one_domain_token():
    assert url_tokens("http://10.0.0.1/admin") == ["d:10.0.0.1", "p:admin"]
    assert url_tokens("http://intranet:8080/wiki") == ["d:intranet", "p:wiki"]


def test_url_document_adds_urls_written_in_the_text():
    tokens = url_document("see http://pills.example.org/buy now", "https://a.example.net")

    assert "d:pills.example.org" in tokens and "d:a.example.net" in tokens


def test_feature_config_round_trips_and_validates():
    config = FeatureConfig(word_ngrams=(1, 3), hashing=True, n_features=2**10, max_features=None)

    assert FeatureConfig.from_dict(config.as_dict()) == config
    assert FeatureConfig.from_dict({**config.as_dict(), "unknown": 1}) == config
    with pytest.raises(ValueError, match="char_ngrams"):
        FeatureConfig(char_ngrams=(5, 3))
    with pytest.raises(ValueError, match="min_df"):
        FeatureConfig(min_df=0)


def test_domain_tokens_become_columns_that_separate_items():
    texts = ["same words here"] * 4
    urls = ["https://a.casino.example", "https://b.casino.example", "https://news.example", ""]

    featurizer, X = fit_transform(texts, urls, FeatureConfig(min_df=2))

    url_block = next(b for b in featurizer.blocks if b.kind == "url")
    assert "d:casino.example" in url_block.terms  # shared by two items, kept by min_df=2
    assert X.shape == (4, featurizer.width)
    assert (X[0] != X[2]).nnz > 0  # same text, different domains: different features


def test_transform_of_a_fitted_featurizer_equals_its_fit_transform():
    texts = ["the cat sat", "the dog ran", "a cat and a dog", "visit www.cats.example.com"]
    urls = ["", "https://dogs.example.com/x", "", ""]

    featurizer, X = fit_transform(texts, urls, FeatureConfig(min_df=1))

    assert np.allclose(featurizer.transform(texts, urls).toarray(), X.toarray())
    rebuilt = Featurizer(featurizer.config, featurizer.blocks)  # from plain state only
    assert np.allclose(rebuilt.transform(texts, urls).toarray(), X.toarray())


def test_hashing_uses_fixed_width_blocks_without_a_vocabulary():
    config = FeatureConfig(hashing=True, n_features=2**12, min_df=1)
    texts = ["alpha beta", "beta gamma", "gamma delta"]
    urls = ["https://x.example.org", "", ""]

    featurizer, X = fit_transform(texts, urls, config)

    assert [b.kind for b in featurizer.blocks] == ["word", "char", "url"]
    assert all(b.terms is None and b.width == 2**12 for b in featurizer.blocks)
    assert X.shape == (3, 3 * 2**12)
    unseen = featurizer.transform(["omega words never seen"], [""])
    assert unseen.shape == (1, 3 * 2**12) and unseen.nnz > 0  # hashing has no unknown words


def test_blocks_without_terms_are_left_out_instead_of_failing():
    # No URLs at all and too few texts for min_df=2 in the word block: only char n-grams stay.
    featurizer = fit_featurizer(["abcde", "abcxy"], ["", ""], FeatureConfig())

    assert [b.kind for b in featurizer.blocks] == ["char"]
    empty = fit_featurizer([], [], FeatureConfig())
    assert empty.blocks == [] and empty.transform(["x"], [""]).shape == (1, 0)


def test_texts_and_urls_must_have_the_same_length():
    with pytest.raises(ValueError, match="same length"):
        fit_featurizer(["a"], [], FeatureConfig())


def test_hashing_drops_columns_seen_in_fewer_than_min_df_texts():
    texts = ["common words here", "common words there", "zzz xqj"]
    config = FeatureConfig(hashing=True, n_features=2**18, min_df=2, url_tokens=False)

    featurizer, X = fit_transform(texts, [""] * 3, config)

    assert X[2].nnz == 0 < X[0].nnz  # no n-gram of "zzz xqj" occurs twice
    assert np.allclose(featurizer.transform(texts, [""] * 3).toarray(), X.toarray())
    assert np.allclose(np.linalg.norm(X[:2].toarray(), axis=1), np.sqrt(2))  # 2 unit blocks


# Whitespace runs, tabs and newlines, empty and blank texts, words shorter than the n-grams,
# accents, a dotted capital I and a final sigma (lowercasing is context-sensitive), emoji,
# repeats, a URL.
TRICKY = [
    "Hello,  World!\tTabs\nand new\r\nlines", "", "   ", "a b c", "Ünïcödé ÇAFÉ café",
    "İstanbul ΟΔΥΣΣΕΥΣ", "x", "repeated repeated Repeated words", "😀😀 #tags @user",
    "http://t.co/abc?x=1", "aaaaaaaa ab",
]  # fmt: skip


@pytest.mark.parametrize("hashing", [False, True])
def test_char_counts_made_per_word_equal_the_vectorizers_counts(hashing):
    config = FeatureConfig(min_df=1, hashing=hashing, n_features=2**16)
    featurizer = fit_featurizer(TRICKY, [""] * len(TRICKY), config)
    char = next(b for b in featurizer.blocks if b.kind == "char")
    params = {"analyzer": "char_wb", "ngram_range": config.char_ngrams, "dtype": np.float32}
    if hashing:
        vectorizer = HashingVectorizer(**params, n_features=2**16, alternate_sign=False, norm=None)
    else:
        vocabulary = {term: j for j, term in enumerate(char.terms)}
        vectorizer = CountVectorizer(**params, vocabulary=vocabulary)
    counter = char._counts
    assert isinstance(counter, CharWordCounts)

    # Three calls, as a pool is scored chunk by chunk: later calls reuse the words seen before
    for texts in (TRICKY[::-1], ["unseen wörds HELLO hello", "ΟΔΥΣΣΕΥΣ", ""], TRICKY):
        counts = counter(texts)
        reference = vectorizer.transform(texts)
        assert counts.shape == reference.shape and counts.dtype == np.float32
        assert (counts != reference).nnz == 0 and counts.nnz > 0


def test_remembered_words_start_over_past_the_limit():
    featurizer = fit_featurizer(TRICKY, [""] * len(TRICKY), FeatureConfig(min_df=1))
    char = next(b for b in featurizer.blocks if b.kind == "char")
    chars = CharWordCounts(char._counts.counter, max_remembered=3)
    words = WordNgramCounts({"alpha": 0, "alpha beta": 1}, (1, 2), max_remembered=3)
    chars(["alpha beta gamma delta"])
    words(["alpha beta gamma delta"])

    # 4 words remembered > 3: both start over with this call's words
    counts = chars(["epsilon zeta Zeta"])
    word_counts = words(["zeta alpha beta"])

    assert set(chars.own_index.index) == {"epsilon", "zeta"} and chars.words.shape[0] == 2
    assert (counts != chars.counter.transform(["epsilon zeta zeta"])).nnz == 0
    assert set(words.own_index.index) == {"zeta", "alpha", "beta"}
    assert len(words.word_length) == 3
    assert word_counts.toarray().tolist() == [[1.0, 1.0]]


def test_one_word_index_serves_both_counters_of_a_featurizer():
    config = FeatureConfig(min_df=1, url_tokens=False)
    featurizer, X = fit_transform(TRICKY, [""] * len(TRICKY), config)

    first = featurizer.transform(TRICKY[:5], [""] * 5)
    rest = featurizer.transform(TRICKY[5:], [""] * (len(TRICKY) - 5))

    index = featurizer._words.index
    assert len(index) == len({w for t in TRICKY for w in t.lower().split()})
    assert all(b._counts.words.shape[0] == len(index) for b in featurizer.blocks[1:])
    assert all(len(b._counts.word_length) == len(index) for b in featurizer.blocks[:1])
    assert (sp.vstack([first, rest]) != X).nnz == 0


def test_word_counts_equal_the_vectorizers_counts_for_1_and_2_grams():
    texts = [*TRICKY, "the cat sat on the mat", "The cat, the CAT!", "mat cat mat"]
    for ngrams in [(1, 1), (1, 2), (2, 2)]:
        reference = CountVectorizer(ngram_range=ngrams, dtype=np.float32).fit(texts[:8])
        counter = WordNgramCounts(reference.vocabulary_, ngrams, max_remembered=2)

        for part in (texts, texts[::-1], ["", "a", "cat mat"], texts):  # remembered or not
            counts = counter(part)
            expected = reference.transform(part)
            assert counts.shape == expected.shape and counts.dtype == np.float32
            assert (counts != expected).nnz == 0
    with pytest.raises(ValueError, match="1- and 2-grams"):
        WordNgramCounts({"a b c": 0}, (1, 3))


@pytest.mark.parametrize("hashing", [False, True])
def test_transform_with_the_fast_counts_equals_the_fitted_matrix(hashing):
    config = FeatureConfig(min_df=1, hashing=hashing, n_features=2**16)
    urls = ["https://a.example.org/x"] + [""] * (len(TRICKY) - 1)

    featurizer, X = fit_transform(TRICKY, urls, config)  # scikit-learn's own transform

    assert (featurizer.transform(TRICKY, urls) != X).nnz == 0
