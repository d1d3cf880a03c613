"""Tiny random models built from a config and a written vocab: no download, seconds to build."""

from __future__ import annotations

import string
from pathlib import Path

COMMON_WORDS = (
    "the a an of to in is was what who when where why how which does do did are be can for on with "
    "by from at as it its this that and or not no yes building permit house roof wall water heat "
    "energy window door floor paint wood steel concrete price cost time year law rule city country "
    "river mountain capital population king queen war film music song book author born died first "
    "large small new old color red blue green car train plane ship sea ocean sun moon star planet"
)

# (question, answer) pairs spelled with COMMON_WORDS, for tiny training and evaluation sets
QA_TOPICS = [
    ("what is the cost of a new roof", "the price of a roof is large"),
    ("how do i paint a wood door", "paint the wood door with a green color"),
    ("when was the first train built", "the first train was built in the year of steel"),
    ("who is the king of the country", "the king of the country is old"),
    ("what is the population of the city", "the city has a large population"),
    ("how do i heat water", "heat the water with energy from the sun"),
    ("which river is in the capital", "a large river is in the capital"),
    ("what color is the sea", "the sea and the ocean are blue"),
    ("who was the author of the book", "the book was by an author who died"),
    ("when is a building permit needed", "a permit is needed for a new building"),
    ("how large is the moon", "the moon is a small planet"),
    ("what is a floor made of", "a floor is made of concrete or wood"),
]


def write_vocab(path: Path) -> Path:
    """A WordPiece vocab that can spell any lower-case ASCII text (letters, digits, punctuation)."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    tokens = (
        special + chars + [f"##{c}" for c in string.ascii_lowercase + string.digits] + COMMON_WORDS.split()
    )
    path.write_text("\n".join(dict.fromkeys(tokens)) + "\n")
    return path


def _bert_config(vocab_size: int, **extra):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        **extra,
    )


def _tokenizer(folder: Path):
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(write_vocab(folder / "vocab.txt")), do_lower_case=True)


def build_tiny_cross_encoder(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-dim BERT cross-encoder (one logit) saved in sentence-transformers layout."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertForSequenceClassification

    raw = folder.parent / f"{folder.name}-raw"
    raw.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(raw)
    torch.manual_seed(seed)
    BertForSequenceClassification(_bert_config(tokenizer.vocab_size, num_labels=1)).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    CrossEncoder(str(raw), max_length=128).save(str(folder))
    return folder


def build_tiny_bi_encoder(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-dim BERT bi-encoder with mean pooling, in sentence-transformers layout."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertModel

    raw = folder.parent / f"{folder.name}-raw"
    raw.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(raw)
    torch.manual_seed(seed)
    BertModel(_bert_config(tokenizer.vocab_size)).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=128)
    SentenceTransformer(modules=[transformer, Pooling(32, "mean")]).save(str(folder))
    return folder


def build_tiny_bert_base(folder: Path, seed: int = 0) -> Path:
    """A plain BertModel checkpoint with no head: a base model whose head hubrerank must seed."""
    import torch
    from transformers import BertModel

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(folder)
    torch.manual_seed(seed)
    BertModel(_bert_config(tokenizer.vocab_size)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_causal_lm(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-dim Llama causal LM with a WordPiece tokenizer that has "yes" and "no" tokens.

    sentence-transformers loads a ``*ForCausalLM`` checkpoint as a CrossEncoder scoring the log-odds of
    "yes" over "no" at the last position (Transformer(text-generation) + LogitScore).
    """
    import torch
    from transformers import BertTokenizerFast, LlamaConfig, LlamaForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tokens = write_vocab(folder / "vocab.txt").read_text().split()
    tokenizer = BertTokenizerFast(
        vocab={token: index for index, token in enumerate(tokens)}, do_lower_case=True
    )
    config = LlamaConfig(
        vocab_size=len(tokens),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_mlm_base(folder: Path, seed: int = 0) -> Path:
    """A plain BertForMaskedLM checkpoint: the base a SPLADE sparse encoder starts from (its MLM head gives
    a weight to every vocabulary term)."""
    import torch
    from transformers import BertForMaskedLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(folder)
    torch.manual_seed(seed)
    BertForMaskedLM(_bert_config(tokenizer.vocab_size)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_sparse_encoder(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-dim BERT SPLADE model, as ``SparseEncoder`` builds one from a masked-LM checkpoint
    (Transformer(fill-mask) -> SpladePooling(max)), saved in sentence-transformers layout."""
    from sentence_transformers import SparseEncoder

    raw = build_tiny_mlm_base(folder.parent / f"{folder.name}-raw", seed)
    model = SparseEncoder(str(raw), local_files_only=True)
    model.max_seq_length = 128
    model.save(str(folder))
    return folder


def build_tiny_multi_vector(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-dim BERT multi-vector (ColBERT-style) encoder, as ``MultiVectorEncoder`` builds one from
    a plain checkpoint (Transformer -> Dense(128) -> MultiVectorMask -> Normalize), in sentence-transformers
    layout."""
    import torch
    from sentence_transformers import MultiVectorEncoder

    raw = build_tiny_bert_base(folder.parent / f"{folder.name}-raw", seed)
    torch.manual_seed(seed)
    model = MultiVectorEncoder(str(raw), local_files_only=True)
    model.max_seq_length = 128
    model.save(str(folder))
    return folder
