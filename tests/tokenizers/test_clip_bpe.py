import pytest

from services.tokenizers.clip_bpe import BOS_ID, EOS_ID, chunk_boundaries, default_tokenizer


@pytest.fixture(scope="module")
def tok():
    return default_tokenizer()


def test_known_ids(tok):
    assert tok.encode("a photo of a cat", with_special=True) == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_counts_match_tag_captions(tok):
    assert tok.count("1girl, solo") == 4  # 1, girl, ",", solo
    assert tok.count("") == 0


def test_unicode_and_html_do_not_break(tok):
    ids = tok.encode("caf&eacute; Ünïcödé 日本 🙂")
    assert ids and all(0 <= i < BOS_ID for i in ids)


def test_chunk_boundaries():
    assert chunk_boundaries(10) == []
    assert chunk_boundaries(80) == [75]
    assert chunk_boundaries(300) == [75, 150, 225]
    assert chunk_boundaries(300, max_token_length=150) == [75, 150]


def test_hf_files_load_in_transformers_and_agree(tok, tmp_path):
    transformers = pytest.importorskip("transformers")
    tok.write_hf_files(tmp_path)
    hf = transformers.CLIPTokenizer.from_pretrained(str(tmp_path))
    for text in ["a photo of a cat", "1girl, long_hair, (masterpiece:1.2), café", "it's 2 o'clock!!"]:
        assert hf(text)["input_ids"] == tok.encode(text, with_special=True)
    assert hf.eos_token_id == EOS_ID
