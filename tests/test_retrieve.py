"""rag/retrieve.py: hybrid (dense + BM25) search, hits with their exact place in the documents."""

from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF

import rag
from rag.retrieve import RRF_K, Lexicon

# The answer hinges on the exact product code: the notes about look-alike parts are closer in
# meaning to the question, so the dense model ranks them first; BM25 sees the code only once.
PRODUCT_QUESTION = "What is the maximum operating temperature of the XK-4471-B sensor?"
PRODUCT_NOTES = {
    "xk-4471-b.txt": "Spare XK-4471-B units ship from the Leeds depot within two days; "
    "each is rated to 85 °C.",
    "kx-4417-d.txt": "The KX-4417-D probe keeps working in heat up to 120 degrees at most.",
    "xr-4714-e.txt": "Our XR-4714-E thermal probe copes with heat of up to 60 degrees.",
    "kx-7144-d.txt": "Heat limit of the KX-7144-D probe: it works up to 95 degrees.",
}


@pytest.fixture(scope="module")
def town_index(embedder, tmp_path_factory) -> rag.Index:
    folder = tmp_path_factory.mktemp("town")
    (folder / "harbour.txt").write_text(
        "Harbour Opening Hours Announced\n"
        "The harbour opens at six in the morning. Ferries leave every hour until nine.\n"
    )
    (folder / "bakery.md").write_text(
        "# Village Bakery\n\nThe bakery sells rye bread on Tuesdays. Its ovens burn beech wood.\n"
    )
    (folder / "museum.html").write_text(
        "<html><head><title>Town Museum</title></head><body>"
        "<p>The museum shows a whale skeleton found on the beach in 1902.</p>"
        "<p>Ferries to the museum island leave from the harbour.</p></body></html>"
    )
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in ("The lighthouse was built in 1850.", "The lighthouse keeper retired in 1950."):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    (folder / "lighthouse.pdf").write_bytes(bytes(pdf.output()))
    index = rag.Index(embedder)
    index.sync([folder])
    return index


@pytest.fixture(scope="module")
def product_index(embedder, tmp_path_factory) -> rag.Index:
    folder = tmp_path_factory.mktemp("products")
    for name, text in PRODUCT_NOTES.items():
        (folder / name).write_text(text + "\n")
    index = rag.Index(embedder)
    index.sync([folder])
    return index


def _source(index: rag.Index, name: str) -> str:
    (source,) = [d.source for d in index.documents if Path(d.source).name == name]
    return source


def test_defaults(town_index):
    assert RRF_K == 60
    assert len(town_index.search("ferries")) == 5  # k=5 by default, and there are 5 chunks


def test_hits_carry_text_and_place(town_index):
    hits = town_index.search("When do ferries leave the harbour?", k=5)
    assert Path(hits[0].source).name == "harbour.txt"
    assert hits[0].title == "Harbour Opening Hours Announced"
    for hit in hits:
        document = town_index.document(hit.source)
        assert document.text[hit.start : hit.end] == hit.text
        assert hit.title == document.title
        assert hit.score > 0 and -1.0 <= hit.similarity <= 1.0 and hit.bm25 >= 0.0
        assert hit.page == (document.page_at(hit.start) if document.format == "pdf" else None)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_pdf_hits_carry_their_page(town_index):
    (hit,) = town_index.search("When did the lighthouse keeper retire?", k=1)
    assert (Path(hit.source).name, hit.page, hit.text) == (
        "lighthouse.pdf",
        2,
        "The lighthouse keeper retired in 1950.",
    )


def test_k_limits_hits(town_index):
    assert len(town_index.search("ferries", k=2)) == 2


def test_filter_by_source(town_index):
    museum = _source(town_index, "museum.html")
    hits = town_index.search("When do ferries leave the harbour?", k=5, sources=[museum])
    assert hits and {h.source for h in hits} == {museum}
    assert town_index.search("ferries", sources=[]) == []


def test_filter_by_relative_source(town_index, monkeypatch):
    museum = _source(town_index, "museum.html")
    monkeypatch.chdir(Path(museum).parent)
    hits = town_index.search("ferries", k=5, sources=["museum.html"])
    assert hits and {h.source for h in hits} == {museum}


def test_filter_by_unknown_source(town_index):
    with pytest.raises(ValueError, match="no indexed document 'nowhere.txt'"):
        town_index.search("ferries", sources=["nowhere.txt"])


@pytest.mark.parametrize("query", ["", "   \n"])
def test_empty_query(town_index, query):
    with pytest.raises(ValueError, match="empty"):
        town_index.search(query)


def test_bad_k(town_index):
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        town_index.search("ferries", k=0)


def test_empty_index_has_no_hits(embedder):
    assert rag.Index(embedder).search("ferries") == []


def test_lexicon_scores_rare_words():
    lexicon = Lexicon(["ferries leave the harbour", "rye bread", "harbour museum"])
    scores = lexicon.scores("harbour ferries")
    assert scores.shape == (3,) and scores[0] > scores[2] > scores[1] == 0.0
    assert Lexicon([]).scores("anything").shape == (0,)


def test_hybrid_beats_dense_only_on_an_exact_code(product_index, embedder, monkeypatch):
    right = _source(product_index, "xk-4471-b.txt")
    snapshot = product_index._snapshot
    question = embedder.embed([PRODUCT_QUESTION])[0]
    rows = np.flatnonzero(snapshot.live)
    ranked = rows[np.argsort(-(snapshot.vectors_at(rows) @ question))]
    dense_only = [snapshot.chunk(row).source for row in ranked]
    assert dense_only[0] != right  # the look-alikes win on meaning alone

    hits = product_index.search(PRODUCT_QUESTION, k=4)
    assert hits[0].source == right
    assert "85 °C" in hits[0].text

    # Without BM25 the hybrid ranking falls back to dense order, and gets it wrong.
    monkeypatch.setattr(
        Lexicon, "scores", lambda self, query, collection=None: np.zeros(self.size, np.float32)
    )
    assert [h.source for h in product_index.search(PRODUCT_QUESTION, k=4)] == dense_only


def test_a_shard_scores_bm25_as_the_whole_collection_does():
    """rag.cluster's shards score their rows with the collection's statistics: the same scores,
    bit for bit, as the whole index gives them."""
    from rag.retrieve import Collection, tokenize

    texts = [
        "The hotline in Sofia received 5,300 calls in March.",
        "Shelters in Chisinau hosted 214 survivors in 2019.",
        "The hotline number is 0800 4747, open every day.",
        "Training in Tirana lasted eleven days for shelter staff.",
        "Calls to the hotline doubled after the campaign in Sofia.",
    ]
    whole = Lexicon(texts)
    parts = [whole.compacted(np.arange(0, 2)), whole.compacted(np.arange(2, 5))]
    query = "How many calls did the Sofia hotline receive?"
    tokens = sorted(set(tokenize([query])[0]))
    frequencies = {
        t: float(np.float32(sum(np.float32(p.document_frequencies([t])[0]) for p in parts)))
        for t in tokens
    }
    collection = Collection(whole.size, float(whole.lengths(0, whole.size).mean()), frequencies)
    sharded = np.concatenate([p.scores(query, collection) for p in parts])
    np.testing.assert_array_equal(sharded, whole.scores(query))
    alone = np.concatenate([p.scores(query) for p in parts])  # each with its own statistics
    assert not np.array_equal(alone, whole.scores(query))
