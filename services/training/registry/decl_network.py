"""Network: the adapter being trained (LoRA mode only) and kohya's own network arguments.

LyCORIS' arguments are in ``decl_lycoris``. Arguments that go to ``--network_args`` have keys
starting with ``network_args.``; the emitter turns them into ``name=value`` strings.
"""

from __future__ import annotations

from services.training.families import SD_UNET, Family, Mode
from services.training.registry._decl import (
    BOOL,
    CHOICE,
    FILE,
    FILE_LIST,
    FLOAT,
    FLOAT_LIST,
    INT,
    KV_LIST,
    STR,
    declarer,
)
from services.training.registry.algorithms import ALGORITHM_IDS, LYCORIS_IDS, lycoris
from services.training.registry.spec import Group, Target

p = declarer(Group.NETWORK)
LORA = {Mode.LORA}
_KOHYA_BLOCKS = frozenset({"lora", "lora_fa"})               # networks.lora and networks.lora_fa
_CONV = frozenset({"lora", "lora_fa", "dylora"}) | lycoris("locon", "loha", "lokr", "dylora", "glora", "full")
_DROPOUT = frozenset({"lora", "lora_fa"}) | (LYCORIS_IDS - lycoris("ia3"))
_LORAPLUS = frozenset({"lora", "dylora"})
_FLUX, _SD3 = {Family.FLUX}, {Family.SD3}

PARAMETERS = [
    p("network_algorithm", CHOICE, "lora", "Network algorithm",
      "Which kind of adapter to train. kohya's LoRA is the most widely supported; LyCORIS types need the "
      "lycoris-lora package in the backend.", choices=ALGORITHM_IDS, modes=LORA, targets=(Target.PROJECT,)),
    p("network_dim", INT, 16, "Network dimension (rank)",
      "The capacity of the adapter. 8-32 suits most characters and styles; higher means larger files and "
      "more risk of copying the training images.", modes=LORA, minimum=1, maximum=100000),
    p("network_alpha", FLOAT, 8.0, "Network alpha",
      "Scales the adapter's output by alpha / dimension. Half the dimension is common; equal to the "
      "dimension gives full strength; lower values need a higher learning rate.", modes=LORA, minimum=0,
      min_exclusive=True, engine=1),
    p("network_dropout", FLOAT, None, "Neuron dropout",
      "The chance of dropping each value inside the adapter during a step (0.1 is typical). Regularises "
      "against overfitting.", modes=LORA, minimum=0, maximum=1),
    p("network_train_unet_only", BOOL, False, "Train the denoiser only",
      "Leave the text encoder(s) alone and train only the U-Net or transformer. Needed when text-encoder "
      "outputs are cached; usual for SDXL, Flux.1 and SD3.", modes=LORA,
      by=(({Family.SDXL, Family.FLUX, Family.SD3}, None, True),)),
    p("network_train_text_encoder_only", BOOL, False, "Train the text encoder only",
      "Train only the text encoder's adapter (rarely useful on its own).", modes=LORA),
    p("scale_weight_norms", FLOAT, None, "Max-norm regularisation",
      "Shrinks adapter weights whose norm exceeds this (1.0 is a common value), which makes the LoRA combine "
      "better with others.", modes=LORA, minimum=0, min_exclusive=True),
    p("network_weights", FILE, None, "Start from LoRA weights",
      "Continue from an existing LoRA file of the same algorithm instead of starting from zero.",
      modes={Mode.LORA}, file_filter="*.safetensors"),
    p("dim_from_weights", BOOL, False, "Take the dimension from the weights",
      "Read the network dimension from the starting LoRA file instead of using the dimension set here.",
      modes={Mode.LORA}, conditions=("network_weights",)),
    p("base_weights", FILE_LIST, None, "Merge LoRAs into the base first",
      "LoRA files merged into the base model before training starts; the new LoRA learns on top of them.",
      modes={Mode.LORA}),
    p("base_weights_multiplier", FLOAT_LIST, None, "Strength of the merged LoRAs",
      "One strength per file in 'Merge LoRAs into the base first' (1.0 = full strength).", modes={Mode.LORA},
      conditions=("base_weights",)),
    p("network_args.conv_dim", INT, None, "Conv dimension",
      "Also train the convolution layers with this rank (the LoCon style). Captures textures and styles "
      "better; empty leaves the convolutions alone.", modes=LORA, algorithms=_CONV, families=SD_UNET,
      minimum=1, maximum=100000),
    p("network_args.conv_alpha", FLOAT, None, "Conv alpha",
      "Alpha of the convolution layers, like network alpha.", modes=LORA, algorithms=_CONV, families=SD_UNET,
      minimum=0, min_exclusive=True, conditions="network_args.conv_dim"),
    p("network_args.rank_dropout", FLOAT, None, "Rank dropout",
      "The chance of dropping each rank of the adapter during a step.", modes=LORA,
      algorithms=_DROPOUT | {"lora"}, minimum=0, maximum=1),
    p("network_args.module_dropout", FLOAT, None, "Module dropout",
      "The chance of skipping a whole adapted layer during a step.", modes=LORA, algorithms=_DROPOUT | {"lora"},
      minimum=0, maximum=1),
    p("network_args.unit", INT, 1, "DyLoRA unit",
      "DyLoRA trains ranks in blocks of this size; the dimension must be a multiple of it.", modes=LORA,
      algorithms={"dylora"}, minimum=1),
    p("network_args.loraplus_lr_ratio", FLOAT, None, "LoRA+ ratio",
      "LoRA+: train the up-projection this many times faster than the down-projection (16 is the paper's "
      "value). Often speeds up learning.", modes=LORA, algorithms=_LORAPLUS, minimum=0, min_exclusive=True),
    p("network_args.loraplus_unet_lr_ratio", FLOAT, None, "LoRA+ ratio (denoiser)",
      "LoRA+ ratio for the U-Net or transformer only.", modes=LORA, algorithms=_LORAPLUS, minimum=0,
      min_exclusive=True),
    p("network_args.loraplus_text_encoder_lr_ratio", FLOAT, None, "LoRA+ ratio (text encoder)",
      "LoRA+ ratio for the text encoder only.", modes=LORA, algorithms=_LORAPLUS, minimum=0,
      min_exclusive=True),
    # block-wise settings of kohya's SD/SDXL LoRA
    p("network_args.down_lr_weight", STR, None, "Down-block LR weights",
      "Learning-rate multipliers for the U-Net's down blocks: a preset (sine, cosine, linear, reverse_linear, "
      "zeros) or comma-separated numbers, one per block.", modes=LORA, algorithms=_KOHYA_BLOCKS,
      families=SD_UNET),
    p("network_args.mid_lr_weight", STR, None, "Middle-block LR weight",
      "Learning-rate multiplier for the U-Net's middle block.", modes=LORA, algorithms=_KOHYA_BLOCKS,
      families=SD_UNET),
    p("network_args.up_lr_weight", STR, None, "Up-block LR weights",
      "Learning-rate multipliers for the U-Net's up blocks, like the down-block weights.", modes=LORA,
      algorithms=_KOHYA_BLOCKS, families=SD_UNET),
    p("network_args.block_lr_zero_threshold", FLOAT, None, "Skip blocks below weight",
      "Blocks whose learning-rate weight is below this are not trained at all.", modes=LORA,
      algorithms=_KOHYA_BLOCKS, families=SD_UNET, minimum=0),
    p("network_args.block_dims", STR, None, "Rank per block",
      "Comma-separated ranks, one per U-Net block (25 for SD 1.x/2.x, 23 for SDXL).", modes=LORA,
      algorithms=_KOHYA_BLOCKS, families=SD_UNET),
    p("network_args.block_alphas", STR, None, "Alpha per block",
      "Comma-separated alphas, one per U-Net block.", modes=LORA, algorithms=_KOHYA_BLOCKS, families=SD_UNET),
    p("network_args.conv_block_dims", STR, None, "Conv rank per block",
      "Comma-separated convolution ranks, one per U-Net block.", modes=LORA, algorithms=_KOHYA_BLOCKS,
      families=SD_UNET),
    p("network_args.conv_block_alphas", STR, None, "Conv alpha per block",
      "Comma-separated convolution alphas, one per U-Net block.", modes=LORA, algorithms=_KOHYA_BLOCKS,
      families=SD_UNET),
    # kohya OFT
    p("network_args.enable_all_linear", BOOL, False, "OFT on all linear layers",
      "Apply OFT to every linear layer, not only attention.", modes=LORA, algorithms={"oft"},
      emit_bool_as="true_only"),
    p("network_args.enable_conv", BOOL, False, "OFT on convolutions",
      "Apply OFT to the convolution layers too.", modes=LORA, algorithms={"oft"}, families=SD_UNET,
      emit_bool_as="true_only"),
    # Flux.1 LoRA (networks.lora_flux)
    p("network_args.train_blocks", CHOICE, None, "Flux blocks to train",
      "Train all of Flux's transformer blocks, or only the double-stream or single-stream ones.",
      modes=LORA, algorithms={"lora"}, families=_FLUX, choices=("all", "double", "single")),
    p("network_args.train_double_block_indices", STR, None, "Double blocks to train",
      "Which of the 19 double-stream blocks get a LoRA: 'all', 'none', or indices and ranges such as "
      "0-5,10.", modes=LORA, algorithms={"lora"}, families=_FLUX),
    p("network_args.train_single_block_indices", STR, None, "Single blocks to train",
      "Which of the 38 single-stream blocks get a LoRA: 'all', 'none', or indices and ranges.", modes=LORA,
      algorithms={"lora"}, families=_FLUX),
    p("network_args.split_qkv", BOOL, False, "Split Q/K/V",
      "Give query, key and value their own LoRA instead of one for the fused projection.", modes=LORA,
      algorithms={"lora"}, families={Family.FLUX, Family.SD3}),
    p("network_args.train_t5xxl", BOOL, False, "Train T5-XXL",
      "Also put a LoRA on the T5-XXL text encoder. Costs a lot of memory; rarely worth it.", modes=LORA,
      algorithms={"lora"}, families={Family.FLUX, Family.SD3}),
    p("network_args.img_attn_dim", INT, None, "Rank: image attention",
      "A separate rank for the image-stream attention layers (empty: the network dimension).", modes=LORA,
      algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.txt_attn_dim", INT, None, "Rank: text attention",
      "A separate rank for the text-stream attention layers.", modes=LORA, algorithms={"lora"}, families=_FLUX,
      minimum=0),
    p("network_args.img_mlp_dim", INT, None, "Rank: image MLP", "A separate rank for the image-stream MLPs.",
      modes=LORA, algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.txt_mlp_dim", INT, None, "Rank: text MLP", "A separate rank for the text-stream MLPs.",
      modes=LORA, algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.img_mod_dim", INT, None, "Rank: image modulation",
      "A rank for the image-stream modulation layers (not trained unless set).", modes=LORA,
      algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.txt_mod_dim", INT, None, "Rank: text modulation",
      "A rank for the text-stream modulation layers (not trained unless set).", modes=LORA,
      algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.single_dim", INT, None, "Rank: single blocks",
      "A separate rank for the single-stream blocks.", modes=LORA, algorithms={"lora"}, families=_FLUX,
      minimum=0),
    p("network_args.single_mod_dim", INT, None, "Rank: single-block modulation",
      "A rank for the single-stream modulation layers (not trained unless set).", modes=LORA,
      algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.in_dims", STR, None, "Rank: input layers",
      "Ranks for Flux's five input layers (img_in, time_in, vector_in, guidance_in, txt_in) as "
      "[a,b,c,d,e]; 0 skips one.", modes=LORA, algorithms={"lora"}, families=_FLUX),
    p("network_args.ggpo_sigma", FLOAT, None, "GGPO sigma",
      "Gradient-guided perturbation: the size of the weight noise (with GGPO beta; both or neither).",
      modes=LORA, algorithms={"lora"}, families=_FLUX, minimum=0),
    p("network_args.ggpo_beta", FLOAT, None, "GGPO beta",
      "Gradient-guided perturbation: how much the gradient shapes the noise.", modes=LORA, algorithms={"lora"},
      families=_FLUX, minimum=0),
    # SD3 LoRA (networks.lora_sd3)
    p("network_args.context_attn_dim", INT, None, "Rank: context attention",
      "A separate rank for the text (context) attention layers of SD3's joint blocks.", modes=LORA,
      algorithms={"lora"}, families=_SD3, minimum=0),
    p("network_args.context_mlp_dim", INT, None, "Rank: context MLP", "A separate rank for the context MLPs.",
      modes=LORA, algorithms={"lora"}, families=_SD3, minimum=0),
    p("network_args.context_mod_dim", INT, None, "Rank: context modulation",
      "A rank for the context modulation layers (not trained unless set).", modes=LORA, algorithms={"lora"},
      families=_SD3, minimum=0),
    p("network_args.x_attn_dim", INT, None, "Rank: image attention",
      "A separate rank for the image attention layers.", modes=LORA, algorithms={"lora"}, families=_SD3,
      minimum=0),
    p("network_args.x_mlp_dim", INT, None, "Rank: image MLP", "A separate rank for the image MLPs.", modes=LORA,
      algorithms={"lora"}, families=_SD3, minimum=0),
    p("network_args.x_mod_dim", INT, None, "Rank: image modulation",
      "A rank for the image modulation layers (not trained unless set).", modes=LORA, algorithms={"lora"},
      families=_SD3, minimum=0),
    p("network_args.emb_dims", STR, None, "Rank: embedders",
      "Ranks for SD3's embedding layers as [context, t, x, y] (0 skips one).", modes=LORA, algorithms={"lora"},
      families=_SD3),
    p("network_args.train_block_indices", STR, None, "Blocks to train",
      "Which joint blocks get a LoRA: 'all', 'none', or indices and ranges such as 0-11.", modes=LORA,
      algorithms={"lora"}, families=_SD3),
    p("network_args_extra", KV_LIST, None, "More network arguments",
      "Extra name=value arguments passed to the network module as they are, for options not listed here.",
      modes=LORA, targets=(Target.NETWORK_ARGS,), name="network_args"),
]

__all__ = ["LYCORIS_IDS", "PARAMETERS"]
