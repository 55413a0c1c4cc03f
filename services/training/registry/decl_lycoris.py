"""Network: LyCORIS' own network arguments (read by ``lycoris.kohya``; booleans as True/False).

The ``algo`` argument itself is not a parameter: it follows from the chosen network algorithm.
Dimension, alpha, conv dimension/alpha and the dropouts are shared with kohya's modules
(``decl_network``).
"""

from __future__ import annotations

from services.training.families import Mode
from services.training.registry._decl import BOOL, CHOICE, FLOAT, INT, declarer
from services.training.registry.algorithms import LYCORIS_IDS, lycoris
from services.training.registry.spec import Group

p = declarer(Group.NETWORK)
LORA = {Mode.LORA}
_LOW_RANK = lycoris("locon", "loha", "lokr", "dylora", "glora")
_OFT = lycoris("diag-oft", "boft")
PRESETS = ("full", "full-lin", "attn-mlp", "attn-only", "unet-transformer-only", "unet-convblock-only")

PARAMETERS = [
    p("network_args.preset", CHOICE, None, "LyCORIS preset",
      "Which layers get an adapter: full (everything, the default), full-lin (no convolutions), attn-mlp, "
      "attn-only, unet-transformer-only, unet-convblock-only, or the path of a preset TOML file.",
      modes=LORA, algorithms=LYCORIS_IDS, choices=PRESETS, open_choices=True),
    p("network_args.use_tucker", BOOL, False, "Tucker decomposition",
      "Decompose convolution kernels further (Tucker / CP), which saves parameters on 3x3 convolutions.",
      modes=LORA, algorithms=lycoris("locon", "loha", "lokr")),
    p("network_args.use_scalar", BOOL, False, "Trainable scalar",
      "Add a learned scale per layer, starting at zero, so the adapter can start from its full rank.",
      modes=LORA, algorithms=lycoris("locon", "loha", "lokr")),
    p("network_args.rank_dropout_scale", BOOL, False, "Rescale after rank dropout",
      "Rescale the adapter after rank dropout so its average strength stays the same.", modes=LORA,
      algorithms=_LOW_RANK),
    p("network_args.train_norm", BOOL, False, "Train normalisation layers",
      "Also train the weights of the normalisation layers.", modes=LORA, algorithms=LYCORIS_IDS),
    p("network_args.dora_wd", BOOL, False, "DoRA (weight decomposition)",
      "Learn the direction and the magnitude of weights separately (DoRA). Often better quality; slower.",
      modes=LORA, algorithms=lycoris("locon", "loha", "lokr")),
    p("network_args.wd_on_output", BOOL, True, "DoRA on the output dimension",
      "Decompose the weight along its output dimension (the DoRA paper's choice).", modes=LORA,
      algorithms=lycoris("locon", "loha", "lokr"), conditions="network_args.dora_wd"),
    p("network_args.bypass_mode", BOOL, False, "Bypass mode",
      "Run the adapter beside the layer instead of merging it into the weight; needed for quantised (fp8) "
      "base weights.", modes=LORA, algorithms=lycoris("locon", "loha", "lokr")),
    p("network_args.rs_lora", BOOL, False, "Rank-stabilised scaling",
      "Scale by alpha / sqrt(dimension) instead of alpha / dimension, so high ranks keep learning.",
      modes=LORA, algorithms=lycoris("locon", "loha", "lokr")),
    p("network_args.factor", INT, -1, "LoKr factor",
      "How LoKr splits each weight into a Kronecker product; -1 picks the most balanced split. Smaller "
      "factors give smaller files.", modes=LORA, algorithms=lycoris("lokr"), minimum=-1),
    p("network_args.decompose_both", BOOL, False, "Decompose both LoKr factors",
      "Also make LoKr's smaller factor low-rank.", modes=LORA, algorithms=lycoris("lokr")),
    p("network_args.full_matrix", BOOL, False, "LoKr full matrix",
      "Keep LoKr's larger factor as a full matrix instead of a low-rank one (more capacity, larger file).",
      modes=LORA, algorithms=lycoris("lokr")),
    p("network_args.unbalanced_factorization", BOOL, False, "Unbalanced LoKr factors",
      "Swap which side of the Kronecker product gets the larger factor.", modes=LORA,
      algorithms=lycoris("lokr")),
    p("network_args.block_size", INT, 4, "Block size",
      "DyLoRA: how many ranks are trained together. OFT/BOFT: the size of the rotation blocks.", modes=LORA,
      algorithms=lycoris("dylora") | _OFT, minimum=1),
    p("network_args.constraint", FLOAT, None, "OFT constraint",
      "Limits how far the orthogonal rotation may move from the identity (COFT); empty means no limit.",
      modes=LORA, algorithms=_OFT, minimum=0),
    p("network_args.rescaled", BOOL, False, "OFT rescaling",
      "Learn a scale beside the rotation (the rescaled OFT variant).", modes=LORA, algorithms=_OFT),
]
