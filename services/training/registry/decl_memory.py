"""Memory: precision, caching, checkpointing, offloading and attention kernels.

These are what the memory profiles set. ``mixed_precision`` goes both to the config and to
``accelerate launch``, which must agree.
"""

from __future__ import annotations

from services.training.families import DIT, FULL_MODES, SD_UNET, Family, Mode
from services.training.registry._decl import BOOL, CHOICE, INT, STR, declarer
from services.training.registry.spec import Group, Target

p = declarer(Group.MEMORY)
_TE_CACHE = {Family.SDXL, Family.FLUX, Family.SD3}

PARAMETERS = [
    p("mixed_precision", CHOICE, "bf16", "Mixed precision",
      "Compute in 16-bit where it is safe. bf16 needs an RTX 30xx / A-series or newer; fp16 works on older "
      "GPUs; no is full 32-bit (CPU, or debugging).", choices=("no", "fp16", "bf16"), engine="no",
      by=(({Family.SD1, Family.SD2}, None, "fp16"),), targets=(Target.CONFIG, Target.ACCELERATE)),
    p("full_fp16", BOOL, False, "Everything in fp16",
      "Keep the trained weights themselves in fp16 too. Saves memory; can make training unstable."),
    p("full_bf16", BOOL, False, "Everything in bf16",
      "Keep the trained weights themselves in bf16. Saves memory; mostly stable with bf16 mixed precision."),
    p("fp8_base", BOOL, False, "Base model in fp8",
      "Store the frozen base model in 8-bit floats: roughly halves its memory. For LoRA training; needs a "
      "recent PyTorch and GPU."),
    p("fp8_base_unet", BOOL, False, "Only the denoiser in fp8",
      "Store only the transformer in fp8 and keep the text encoders in the mixed precision.", families=DIT,
      modes={Mode.LORA}),
    p("gradient_checkpointing", BOOL, False, "Gradient checkpointing",
      "Recompute activations during the backward pass instead of keeping them: much less memory, about "
      "20-30% slower.", by=(({Family.SDXL, Family.FLUX, Family.SD3}, None, True),)),
    p("cache_latents", BOOL, True, "Cache latents",
      "Encode every image with the VAE once before training instead of at every step. Faster and frees the "
      "VAE's memory; incompatible with colour jitter and random crop.", engine=False),
    p("cache_latents_to_disk", BOOL, False, "Cache latents to disk",
      "Keep the cached latents in .npz files beside the images so later runs skip encoding. Writes files "
      "into your dataset folders.", conditions="cache_latents"),
    p("vae_batch_size", INT, 1, "VAE batch size", "Images encoded at once while caching latents.", minimum=1,
      engine=1, conditions="cache_latents"),
    p("skip_cache_check", BOOL, False, "Trust existing caches",
      "Do not check cached files against the images on start (faster start; stale caches are not noticed).",
      conditions="cache_latents_to_disk"),
    p("cache_text_encoder_outputs", BOOL, False, "Cache text-encoder outputs",
      "Run the text encoders once over all captions and free them. Saves a lot of memory; the text encoder "
      "cannot then be trained and captions cannot be shuffled or dropped.", families=_TE_CACHE),
    p("cache_text_encoder_outputs_to_disk", BOOL, False, "Cache text-encoder outputs to disk",
      "Keep the text-encoder outputs in files beside the images for later runs.", families=_TE_CACHE,
      conditions="cache_text_encoder_outputs"),
    p("text_encoder_batch_size", INT, None, "Text-encoder batch size",
      "Captions encoded at once while caching text-encoder outputs (empty: the training batch size).",
      families=DIT, minimum=1, conditions="cache_text_encoder_outputs"),
    p("use_t5xxl_cache_only", BOOL, False, "Use cached T5 outputs only",
      "Take T5's outputs from the cache even while the CLIP encoders are trained, so T5 need not be loaded.",
      families={Family.SD3}, modes=FULL_MODES),
    p("t5xxl_device", STR, None, "T5-XXL device",
      "Where SD3's T5-XXL runs, for example cpu to spare VRAM (empty: the training device).",
      families={Family.SD3}),
    p("t5xxl_dtype", CHOICE, None, "T5-XXL precision", "The precision SD3's T5-XXL is loaded in.",
      choices=("float32", "fp16", "bf16"), families={Family.SD3}),
    p("disable_mmap_load_safetensors", BOOL, False, "Read models without memory-mapping",
      "Read model files fully into RAM instead of mapping them. Helps on some network drives and WSL; uses "
      "more RAM while loading.", families=_TE_CACHE),
    p("lowram", BOOL, False, "Low system RAM",
      "Load the model straight to the GPU to spare system RAM (for machines with less RAM than VRAM)."),
    p("highvram", BOOL, False, "Plenty of VRAM",
      "Skip some memory-saving clean-ups when there is VRAM to spare (slightly faster)."),
    p("sdpa", BOOL, True, "PyTorch attention (SDPA)",
      "Use PyTorch's scaled-dot-product attention: fast and memory-efficient everywhere. The recommended "
      "choice.", families=SD_UNET),
    p("xformers", BOOL, False, "xformers attention",
      "Use the xformers library's attention kernels (needs xformers in the backend). Alternative to SDPA.",
      families=SD_UNET),
    p("mem_eff_attn", BOOL, False, "Memory-efficient attention (slow)",
      "A slow pure-Python attention that saves memory; only when neither SDPA nor xformers work.",
      families=SD_UNET),
    p("no_half_vae", BOOL, False, "VAE in full precision",
      "Run the VAE in 32-bit. Needed with fp16 for SDXL's original VAE, which produces NaNs in fp16.",
      families=SD_UNET),
    p("fused_backward_pass", BOOL, False, "Fused backward pass",
      "Update each weight as soon as its gradient is ready, never holding all gradients: a large memory "
      "saving for full finetunes. Works only with Adafactor and without gradient accumulation.",
      families=_TE_CACHE, modes=FULL_MODES),
    p("fused_optimizer_groups", INT, None, "Fused optimizer groups",
      "Split the optimizer into this many groups stepped during the backward pass (10 is typical): saves "
      "memory with any optimizer. Cannot be combined with the fused backward pass.",
      families={Family.SDXL}, modes=FULL_MODES, minimum=1),
    p("blockwise_fused_optimizers", BOOL, False, "Block-wise fused optimizers",
      "One optimizer per transformer block, stepped during the backward pass: saves memory in full Flux/SD3 "
      "finetunes.", families=DIT, modes=FULL_MODES),
    p("mem_eff_save", BOOL, False, "Memory-efficient saving",
      "Write checkpoints without building a second copy in RAM (Flux finetune).", families={Family.FLUX},
      modes=FULL_MODES),
    p("blocks_to_swap", INT, None, "Blocks to swap to RAM",
      "Keep this many transformer blocks in system RAM and move them to the GPU only when needed. Trades "
      "speed for VRAM: Flux can train in 12 GB with about 16-18 swapped.", families=DIT, minimum=1,
      maximum=57),
    p("cpu_offload_checkpointing", BOOL, False, "Offload checkpoints to CPU",
      "Keep gradient-checkpoint activations in system RAM. Saves VRAM; cannot be combined with block "
      "swapping.", families={Family.FLUX}, conditions="gradient_checkpointing"),
    p("max_data_loader_n_workers", INT, 2, "Data loader workers",
      "Background processes that load images. 0 loads in the training process (best for small datasets, "
      "cached latents and CPU runs).", minimum=0, engine=8),
    p("persistent_data_loader_workers", BOOL, False, "Keep loader workers between epochs",
      "Do not restart the loader workers each epoch (faster epochs, more RAM).",
      conditions="max_data_loader_n_workers"),
]
