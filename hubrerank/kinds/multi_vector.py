"""Multi-vector encoders (late interaction, ColBERT-style retrievers): sentence-transformers'
``MultiVectorEncoder`` (from 6.0) and its trainer, losses and cards.

A multi-vector encoder keeps one vector per token; a query scores a document by MaxSim, the sum over the
query's tokens of their best match among the document's. It is judged like a bi-encoder, by retrieval
over a split's whole corpus, with the model's own MaxSim scoring.
"""

from __future__ import annotations

from hubrerank.kinds.spec import KindSpec

_MV = "sentence_transformers.multi_vector_encoder"

MULTI_VECTOR = KindSpec(
    name="multi-vector",
    model_class=f"{_MV}:MultiVectorEncoder",
    model_card_data_class=f"{_MV}:MultiVectorEncoderModelCardData",
    trainer_class=f"{_MV}:MultiVectorEncoderTrainer",
    training_arguments_class=f"{_MV}:MultiVectorEncoderTrainingArguments",
    losses_module=f"{_MV}.losses",
    in_training_evaluator=f"{_MV}.evaluation:MultiVectorInformationRetrievalEvaluator",
    card_tags=(
        "sentence-transformers",
        "multi-vector",
        "colbert",
        "late-interaction",
        "feature-extraction",
        "hubrerank",
        "retriever",
    ),
    task_type="feature-extraction",
    st_model_type="MultiVectorEncoder",
    st_evaluators=("MultiVectorInformationRetrievalEvaluator",),
    st_card_tag="multi-vector",
    # a plain checkpoint becomes Transformer -> Dense (128) -> MultiVectorMask -> Normalize
    st_card_modules=(("Transformer", "Dense", "MultiVectorMask", "Normalize"),),
    evaluation_task="retrieval",
    model_keys=(),
    max_length_attribute="max_seq_length",
    best_metric="maxsim_ndcg@{k}",
    nanobeir_evaluator=f"{_MV}.evaluation:MultiVectorNanoBEIREvaluator",
    nanobeir_task="nanobeir-retrieval",
    retrieval_similarity="maxsim",
    extra_evaluations=(("encoder-reranking", f"{_MV}.evaluation:MultiVectorRerankingEvaluator"),),
)
