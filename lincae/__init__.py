"""lincae: linear audio autoencoders, their latent operations, and an interactive demo of them.

    model = lincae.load_model("demo-lincae")
    z = model.encode(audio, sample_rate=rate)   # a path, numpy or torch; [T] or [N, T]; any rate
    y = model.decode(z)
"""
from lincae import audio
from lincae.api import Model, load_model
from lincae.models.base import Autoencoder, ModelInfo
from lincae.registry import ModelUnavailable, list_models, model_info

__all__ = ["Autoencoder", "Model", "ModelInfo", "ModelUnavailable", "audio", "list_models", "load_model",
           "model_info"]
