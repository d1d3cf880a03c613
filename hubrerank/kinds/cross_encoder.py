"""Cross-encoders (rerankers): sentence-transformers' ``CrossEncoder`` and its trainer, losses and cards."""

from __future__ import annotations

from hubrerank.kinds.spec import KindSpec

_CE = "sentence_transformers.cross_encoder"

CROSS_ENCODER = KindSpec(
    name="cross-encoder",
    model_class=f"{_CE}:CrossEncoder",
    model_card_data_class=f"{_CE}:CrossEncoderModelCardData",
    trainer_class=f"{_CE}:CrossEncoderTrainer",
    training_arguments_class=f"{_CE}:CrossEncoderTrainingArguments",
    losses_module=f"{_CE}.losses",
    in_training_evaluator=f"{_CE}.evaluation:CrossEncoderRerankingEvaluator",
    card_tags=("sentence-transformers", "cross-encoder", "reranker", "hubrerank", "text-ranking"),
    task_type="text-ranking",
    st_model_type="CrossEncoder",
    st_evaluators=(
        "CrossEncoderRerankingEvaluator",
        "CrossEncoderNanoBEIREvaluator",
        "CrossEncoderClassificationEvaluator",
        "CrossEncoderCorrelationEvaluator",
    ),
    st_card_tag="cross-encoder",
    st_card_modules=(("Transformer",),),
)
