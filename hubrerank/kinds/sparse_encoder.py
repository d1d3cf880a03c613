"""Sparse encoders (SPLADE retrievers): sentence-transformers' ``SparseEncoder`` and its trainer, losses
and cards.

A sparse encoder maps a text to a vocabulary-sized vector with few non-zero weights (an MLM head's
logits, max-pooled and log-saturated by ``SpladePooling``; or, in a CSR model, an embedding model's
vector under a ``SparseAutoEncoder`` that keeps its top k), so retrieval is a dot product over the
dimensions two texts share. It is judged like a bi-encoder, by retrieval over a split's whole corpus, and the
evaluator also reports how sparse its vectors are (active dimensions).
"""

from __future__ import annotations

from hubrerank.kinds.spec import KindSpec

_SE = "sentence_transformers.sparse_encoder"

SPARSE_ENCODER = KindSpec(
    name="sparse-encoder",
    model_class=f"{_SE}:SparseEncoder",
    model_card_data_class=f"{_SE}:SparseEncoderModelCardData",
    trainer_class=f"{_SE}:SparseEncoderTrainer",
    training_arguments_class=f"{_SE}:SparseEncoderTrainingArguments",
    losses_module=f"{_SE}.losses",
    in_training_evaluator=f"{_SE}.evaluation:SparseInformationRetrievalEvaluator",
    card_tags=(
        "sentence-transformers",
        "sparse-encoder",
        "sparse",
        "feature-extraction",
        "hubrerank",
        "retriever",
    ),
    # as SparseEncoderModelCardData tags them (an asymmetric, inference-free, SPLADE or CSR model)
    architecture_tags=(
        ("Router", "asymmetric"),
        ("SparseStaticEmbedding", "inference-free"),
        ("SpladePooling", "splade"),
        ("SparseAutoEncoder", "csr"),
    ),
    architecture_tags_after="sparse",
    task_type="feature-extraction",
    st_model_type="SparseEncoder",
    st_evaluators=("SparseInformationRetrievalEvaluator",),
    st_card_tag="sparse-encoder",
    # a plain masked-LM checkpoint becomes Transformer(fill-mask) -> SpladePooling, SparseEncoder's default
    # stack (MLMTransformer -> SpladePooling before 6.0); a dense embedding model becomes a CSR model, its
    # Transformer -> Pooling under a SparseAutoEncoder
    st_card_modules=(
        ("Transformer", "SpladePooling"),
        ("MLMTransformer", "SpladePooling"),
        ("Transformer", "Pooling", "SparseAutoEncoder"),
    ),
    evaluation_task="retrieval",
    model_keys=(),
    max_length_attribute="max_seq_length",
    best_metric="dot_ndcg@{k}",
    nanobeir_evaluator=f"{_SE}.evaluation:SparseNanoBEIREvaluator",
    nanobeir_task="nanobeir-retrieval",
    retrieval_similarity="dot",
    extra_evaluations=(("encoder-reranking", f"{_SE}.evaluation:SparseRerankingEvaluator"),),
)
