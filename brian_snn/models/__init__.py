"""Network models as Brian2 equations: one module per network."""
from .base import ModelSpec, BuiltModel, get_model_spec, MODEL_NAMES

__all__ = ["ModelSpec", "BuiltModel", "get_model_spec", "MODEL_NAMES"]
