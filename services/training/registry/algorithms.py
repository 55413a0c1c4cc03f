"""Network algorithms (what ``network_algorithm`` chooses) and the module each one loads.

kohya's own modules live in sd-scripts' ``networks/`` folder; every LyCORIS algorithm goes through
``lycoris.kohya`` (the lycoris-lora package) with ``algo=<name>`` among the network arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.training.families import Family

_UNET = (Family.SD1, Family.SD2, Family.SDXL)


@dataclass(frozen=True)
class NetworkAlgorithm:
    id: str
    label: str
    help: str
    modules: Mapping[Family, str]      # the network_module per family it supports
    lycoris_algo: str | None = None    # the algo= network argument for LyCORIS
    package: str | None = None         # a pip package the backend needs for it

    @property
    def families(self) -> frozenset[Family]:
        return frozenset(self.modules)

    @property
    def is_lycoris(self) -> bool:
        return self.lycoris_algo is not None

    def module_for(self, family: Family) -> str | None:
        return self.modules.get(Family(family))


def _lycoris(algo: str, label: str, help: str) -> NetworkAlgorithm:
    return NetworkAlgorithm(f"lycoris.{algo}", label, help,
                            {f: "lycoris.kohya" for f in (*_UNET, Family.FLUX)}, algo, "lycoris-lora")


ALGORITHMS: tuple[NetworkAlgorithm, ...] = (
    NetworkAlgorithm(
        "lora", "LoRA (kohya)",
        "Low-rank adapters on the attention and feed-forward layers. Set a conv dimension to extend it "
        "to the convolution layers (the LoCon style). For Flux.1 and SD3 the family's own LoRA module is used.",
        {**{f: "networks.lora" for f in _UNET}, Family.FLUX: "networks.lora_flux", Family.SD3: "networks.lora_sd3"}),
    NetworkAlgorithm(
        "dylora", "DyLoRA (kohya)",
        "Trains every rank up to the network dimension at once, so smaller ranks can be cut from the "
        "result afterwards without retraining.",
        {f: "networks.dylora" for f in _UNET}),
    NetworkAlgorithm(
        "lora_fa", "LoRA-FA (kohya)",
        "LoRA with the down-projection frozen: less memory for optimizer state, slightly less capacity.",
        {f: "networks.lora_fa" for f in _UNET}),
    NetworkAlgorithm(
        "oft", "OFT (kohya)",
        "Orthogonal finetuning: rotates the existing weights instead of adding to them, which keeps the "
        "base model's behaviour more intact.",
        {**{f: "networks.oft" for f in _UNET}, Family.FLUX: "networks.oft_flux"}),
    _lycoris("locon", "LyCORIS LoCon",
             "LyCORIS' LoRA with convolution layers; the usual starting point among LyCORIS types."),
    _lycoris("loha", "LyCORIS LoHa",
             "Hadamard product of two low-rank pairs: more expressive per parameter than LoRA; keep the "
             "dimension at 32 or below."),
    _lycoris("lokr", "LyCORIS LoKr",
             "Kronecker product factorisation: very small files; the factor decides how the weight is split."),
    _lycoris("ia3", "LyCORIS (IA)³",
             "Learns only scaling vectors: tiny files, fast, needs a much higher learning rate (around 5e-3)."),
    _lycoris("dylora", "LyCORIS DyLoRA",
             "LyCORIS' dynamic-rank LoRA: trains ranks in blocks so a smaller rank can be extracted later."),
    _lycoris("glora", "LyCORIS GLoRA", "Generalised LoRA: learns a scale and a shift of the weights as well."),
    _lycoris("full", "LyCORIS full (native finetune)",
             "Trains the full weight difference of the chosen layers: the largest files, closest to a finetune."),
    _lycoris("diag-oft", "LyCORIS Diag-OFT",
             "Orthogonal finetuning with block-diagonal rotations; preserves the base model's structure."),
    _lycoris("boft", "LyCORIS BOFT", "Butterfly orthogonal finetuning: OFT with fewer parameters per block."),
)

_BY_ID = {a.id: a for a in ALGORITHMS}
ALGORITHM_IDS: tuple[str, ...] = tuple(_BY_ID)
LYCORIS_IDS = frozenset(a.id for a in ALGORITHMS if a.is_lycoris)
KOHYA_LORA_LIKE = frozenset({"lora", "lora_fa"})


def algorithm(algorithm_id: str) -> NetworkAlgorithm:
    try:
        return _BY_ID[algorithm_id]
    except KeyError:
        raise KeyError(f"unknown network algorithm {algorithm_id!r}") from None


def algorithms_for(family: Family) -> list[NetworkAlgorithm]:
    return [a for a in ALGORITHMS if Family(family) in a.modules]


def lycoris(*algos: str) -> frozenset[str]:
    """Algorithm ids of these LyCORIS algos (or all of them with no argument)."""
    return frozenset(f"lycoris.{a}" for a in algos) if algos else LYCORIS_IDS
