"""Bi-encoders (retrievers, embedding models): sentence-transformers' ``SentenceTransformer`` and its
trainer, losses and cards."""

from __future__ import annotations

from hubrerank.kinds.spec import KindSpec

_ST = "sentence_transformers.sentence_transformer"

BI_ENCODER = KindSpec(
    name="bi-encoder",
    model_class=f"{_ST}:SentenceTransformer",
    model_card_data_class=f"{_ST}:SentenceTransformerModelCardData",
    trainer_class=f"{_ST}:SentenceTransformerTrainer",
    training_arguments_class=f"{_ST}:SentenceTransformerTrainingArguments",
    losses_module=f"{_ST}.losses",
    in_training_evaluator=f"{_ST}.evaluation:InformationRetrievalEvaluator",
    card_tags=(
        "sentence-transformers",
        "sentence-similarity",
        "feature-extraction",
        "hubrerank",
        "retriever",
    ),
    task_type="sentence-similarity",
    st_model_type="SentenceTransformer",
    st_evaluators=("InformationRetrievalEvaluator", "TripletEvaluator"),
    st_card_tag="sentence-similarity",
    # the base model's own stack is loaded as it is; these are what a plain checkpoint gets, or a Normalize
    st_card_modules=(("Transformer", "Pooling"), ("Transformer", "Pooling", "Normalize")),
    evaluation_task="retrieval",
    model_keys=(),
    max_length_attribute="max_seq_length",
    best_metric="cosine_ndcg@{k}",
    nanobeir_evaluator=f"{_ST}.evaluation:NanoBEIREvaluator",
    ddp_find_unused_parameters=True,
    nanobeir_task="nanobeir-retrieval",
    extra_evaluations=(("triplet", f"{_ST}.evaluation:TripletEvaluator"),),
)
