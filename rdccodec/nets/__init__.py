"""The networks of rdc: both branches and the model that holds them."""
from .model import RDCModel, ModelConfig

__all__ = ["RDCModel", "ModelConfig"]
