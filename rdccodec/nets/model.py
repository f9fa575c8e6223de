"""The two-branch model and its weights file."""
from __future__ import annotations

import dataclasses
import hashlib
import io

import torch
from torch import Tensor, nn

from ..container import PAD_MULTIPLE  # noqa: F401 (the transforms need it; the spec defines it)
from ..errors import RDCError
from .exact import EXACT_SINGLES, FINE as EXACT_FINE, ExactConv, exact_sequential, exact_sequentials, quantised_inputs
from .primary import PrimaryBranch
from .residual import ResidualBranch


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    hidden: int = 64
    latent: int = 128
    hyper: int = 64
    residual_hidden: int = 48
    residual_synthesis_hidden: int = 64
    """Width of the residual synthesis (context, merge, g_s), apart from the analysis' so that the decoder's
    capacity can grow without slowing the encoder, which never runs it. With 48 the top stayed near 35 dB on
    Kodak; 64 reached 36.2 dB (docs/history.md › Training)."""
    residual_hyper: int = 48
    levels: int = 6
    residual_layers: tuple[int, ...] = (12, 12, 72)
    """Residual latent channels of each scalable layer. Layer 1 is kept narrow so that it cannot carry
    everything: with three equal groups of 32 channels, training left the second and third without a
    live channel, and they added < 0.01 dB (round 7's measurement, docs/history.md › Training)."""

    checkerboard: bool = False
    """A checkerboard context on the primary latent (:mod:`.checkerboard`): its ŷ is coded in two passes."""

    def __post_init__(self):
        object.__setattr__(self, "residual_layers", tuple(self.residual_layers))  # JSON gives a list

    @property
    def layers(self) -> int:
        return len(self.residual_layers)

    @classmethod
    def from_dict(cls, config: dict) -> "ModelConfig":
        """The config a weights file records; files written before `residual_layers` split an equal
        `residual_latent` into `layers` groups, and those before `residual_synthesis_hidden` had one
        residual width."""
        config = dict(config)
        config.setdefault("residual_synthesis_hidden", config["residual_hidden"])
        if "layers" in config:
            layers, latent = config.pop("layers"), config.pop("residual_latent")
            config["residual_layers"] = (latent // layers,) * layers
        return cls(**config)


class RDCModel(nn.Module):
    """Primary branch (x̂1) plus layered residual branch (r_k); x̄ = x̂1 + (1 − β)·r_k."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        self.primary = PrimaryBranch(config.hidden, config.latent, config.hyper, config.levels, config.checkerboard)
        self.residual = ResidualBranch(config.residual_hidden, config.residual_synthesis_hidden,
                                       config.residual_layers, config.residual_hyper, config.levels)
        self.ranges: dict[str, Tensor] | None = None
        """Input ranges of the synthesis layers (:func:`exact.calibrate`), saved with the weights."""

    def hyperpriors(self):
        return [self.primary.hyperprior, self.residual.hyperprior]

    def aux_loss(self) -> Tensor:
        return sum(h.entropy_bottleneck.loss() for h in self.hyperpriors())

    def update_tables(self) -> None:
        """Build the integer CDF tables once; they are stored with the weights, never rebuilt."""
        for h in self.hyperpriors():
            h.entropy_bottleneck.update(force=True)
            h.gaussian_conditional.update_scale_table(h.gaussian_conditional.scale_table, force=True)

    def exact_syntheses(self) -> "RDCModel":
        """Replace both syntheses, both hyper-syntheses and the checkerboard context by their integer-exact
        float32 form (:mod:`.exact`), the decoder's: its pixels and entropy parameters are the same on
        every thread count."""
        if self.ranges is None or set(quantised_inputs(self)) - set(self.ranges):
            raise RDCError("these weights lack synthesis ranges for this decoder; export them again "
                           "with rdc train export")
        sequentials = exact_sequentials(self)
        for name in sequentials + EXACT_SINGLES:
            layer = self.get_submodule(name)
            exact = (exact_sequential(layer, self.ranges, name) if name in sequentials
                     else ExactConv.of(layer, self.ranges[name], *EXACT_FINE))
            parent, child = name.rsplit(".", 1)
            setattr(self.get_submodule(parent), child, exact)
        return self.to(memory_format=torch.channels_last)

    def load_tables_and_weights(self, state: dict) -> None:
        """CompressAI registers its tables as empty buffers: size them as stored, then load everything."""
        for key, value in state.items():
            if key.rsplit(".", 1)[-1] in ("_quantized_cdf", "_offset", "_cdf_length", "scale_table"):
                self.get_buffer(key).resize_(value.shape)
        self.load_state_dict(state)


def half_state(model: nn.Module) -> dict:
    """The state with learned parameters as fp16 and buffers as they are.

    Buffers stay exact because some are constants fp16 cannot hold: CompressAI's likelihood bound 1e-9
    becomes 0, and a model fine-tuned from such a state meets log(0) (it sent a GPU run to NaN).
    """
    learned = {name for name, _ in model.named_parameters()}
    return {k: (v.half() if k in learned else v) for k, v in model.state_dict().items()}


def save_weights(model: RDCModel, path) -> str:
    """Write config + :func:`half_state` + synthesis ranges; return the file's sha256."""
    buffer = io.BytesIO()
    torch.save({"config": dataclasses.asdict(model.config), "state": half_state(model), "ranges": model.ranges},
               buffer)
    data = buffer.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def load_weights(path_or_bytes) -> tuple[RDCModel, str]:
    """Model in float64 (the training form; :meth:`RDCModel.exact_syntheses` makes the decoder's) and the
    sha256 of the weights file."""
    try:
        data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
    except OSError as e:
        raise RDCError(f"cannot read model weights {path_or_bytes}: {e.strerror}") from None
    try:
        blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model = RDCModel(ModelConfig.from_dict(blob["config"]))
        state = {k: (v.double() if v.is_floating_point() else v) for k, v in blob["state"].items()}
        model.double()
        model.load_tables_and_weights(state)
        model.ranges = blob.get("ranges")
    except Exception as e:  # any malformed file: pickle, keys, shapes
        raise RDCError(f"{path_or_bytes}: not an rdc weights file ({type(e).__name__})") from None
    model.eval()
    return model, hashlib.sha256(data).hexdigest()
