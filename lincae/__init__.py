"""lincae: linear audio autoencoders, their latent operations, and an interactive demo of them."""
from lincae.models.base import Autoencoder, ModelInfo
from lincae.registry import ModelUnavailable, list_models, load_model, model_info

__all__ = ["Autoencoder", "ModelInfo", "ModelUnavailable", "list_models", "load_model", "model_info"]
