"""Cards: the model card (results, recipe, provenance) and the dataset card, from templates in the package.

Importing this package does not import the Hugging Face stack.
"""

from hubrerank.cards.model_card import card_files, publish_card, render_model_card

__all__ = ["card_files", "publish_card", "render_model_card"]
