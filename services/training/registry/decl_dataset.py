"""Dataset: resolution, buckets, captions and augmentation.

Most of these go to the dataset config (``--dataset_config``): set once for the project they land in
its ``[general]`` table; set on one subset they land in that subset. The subset-only keys (folder,
repeats, class tokens, regularisation) are edited per subset in the dataset panel.
"""

from __future__ import annotations

from services.training.families import SD12, SD_UNET, Family
from services.training.registry._decl import (
    ALL_LEVELS,
    BOOL,
    CHOICE,
    DATASET_LEVELS,
    DIR,
    DREAMBOOTH_KIND,
    FLOAT,
    FLOAT_PAIR,
    INT,
    INT_OR_FLOAT,
    RESOLUTION,
    STR,
    SUBSET_LEVEL,
    declarer,
)
from services.training.registry.spec import Group, Target

p = declarer(Group.DATASET)

PARAMETERS = [
    # --- per subset -----------------------------------------------------------------------
    p("image_dir", DIR, None, "Image folder",
      "The folder of images (and caption files) this subset trains on.", levels=SUBSET_LEVEL),
    p("num_repeats", INT, 1, "Repeats",
      "How many times each image of this subset is seen per epoch. Raise it for small subsets so they are "
      "not drowned out by large ones.", levels=SUBSET_LEVEL, minimum=1, engine=1),
    p("class_tokens", STR, None, "Class tokens",
      "Text used as the caption of images that have no caption file, for example 'ohwx woman'. Kohya folder "
      "names (10_ohwx woman) give it.", levels=SUBSET_LEVEL, dataset_kinds=DREAMBOOTH_KIND),
    p("is_reg", BOOL, False, "Regularisation images",
      "Marks this subset as regularisation (class) images: they keep the model's idea of the class while it "
      "learns your subject.", levels=SUBSET_LEVEL, dataset_kinds=DREAMBOOTH_KIND, engine=False),

    # --- resolution and buckets --------------------------------------------------------------
    p("resolution", RESOLUTION, 512, "Resolution",
      "Training resolution: one number for a square (1024), or width and height. Images are scaled so their "
      "area matches it. Use the size the base model was made for.", levels=DATASET_LEVELS,
      by=(({Family.SD2}, None, 768), ({Family.SDXL, Family.FLUX, Family.SD3}, None, 1024)),
      unit="px"),
    p("enable_bucket", BOOL, True, "Aspect-ratio buckets",
      "Group images by aspect ratio instead of cropping everything square, so portraits and landscapes keep "
      "their framing.", levels=DATASET_LEVELS, engine=False),
    p("min_bucket_reso", INT, 256, "Smallest bucket side",
      "The shortest side a bucket may have.", levels=DATASET_LEVELS, minimum=64, unit="px", engine=256,
      conditions="enable_bucket"),
    p("max_bucket_reso", INT, 1024, "Largest bucket side",
      "The longest side a bucket may have; very tall or wide images are limited by it.", levels=DATASET_LEVELS,
      minimum=64, unit="px", engine=1024, by=((SD12, None, 1024), (None, None, 2048)), conditions="enable_bucket"),
    p("bucket_reso_steps", INT, 64, "Bucket size step",
      "Bucket sides are multiples of this. 64 is safe for every family; smaller steps make more, smaller "
      "buckets.", levels=DATASET_LEVELS, minimum=8, unit="px", engine=64, conditions="enable_bucket"),
    p("bucket_no_upscale", BOOL, False, "Never upscale into a bucket",
      "Put small images into buckets no larger than themselves instead of enlarging them.",
      levels=DATASET_LEVELS, engine=False, conditions="enable_bucket"),
    p("resize_interpolation", CHOICE, None, "Resize filter",
      "How images are scaled to their bucket. Empty lets the engine choose (area when shrinking, Lanczos "
      "when enlarging).", levels=ALL_LEVELS,
      choices=("lanczos", "nearest", "bilinear", "linear", "bicubic", "cubic", "area")),

    # --- captions ------------------------------------------------------------------------------
    p("caption_extension", STR, ".txt", "Caption file extension",
      "The extension of the caption file beside each image (.txt, .caption, ...).", levels=ALL_LEVELS,
      dataset_kinds=DREAMBOOTH_KIND, engine=".caption"),
    p("shuffle_caption", BOOL, False, "Shuffle tags",
      "Shuffle the comma-separated parts of each caption every time it is used, so the model does not learn "
      "their order. Useful for tag-style captions.", levels=ALL_LEVELS, engine=False),
    p("keep_tokens", INT, 0, "Keep first tags in place",
      "How many leading tags stay fixed when tags are shuffled or dropped (your trigger word, for example).",
      levels=ALL_LEVELS, minimum=0, engine=0),
    p("keep_tokens_separator", STR, None, "Fixed-part separator",
      "Everything before this marker in a caption stays fixed when shuffling, instead of counting tags "
      "(for example '|||').", levels=ALL_LEVELS),
    p("caption_separator", STR, None, "Tag separator",
      "What separates tags in a caption for shuffling and dropout. Empty means a comma.", levels=ALL_LEVELS),
    p("secondary_separator", STR, None, "Secondary separator",
      "Joins words that must move and drop together as one tag (for example ';;;').", levels=ALL_LEVELS),
    p("enable_wildcard", BOOL, False, "Wildcards in captions",
      "Allow {a|b|c} in captions: one choice is picked each time. Multi-line caption files pick one line.",
      levels=ALL_LEVELS, engine=False),
    p("caption_prefix", STR, None, "Caption prefix", "Text put before every caption.", levels=ALL_LEVELS),
    p("caption_suffix", STR, None, "Caption suffix", "Text put after every caption.", levels=ALL_LEVELS),
    p("caption_dropout_rate", FLOAT, 0.0, "Caption dropout",
      "The fraction of steps in which an image is trained with an empty caption, which helps the result work "
      "without the trigger word.", levels=ALL_LEVELS, minimum=0, maximum=1, engine=0.0),
    p("caption_dropout_every_n_epochs", INT, 0, "Drop all captions every N epochs",
      "Every N-th epoch trains without any captions. 0 turns it off.", levels=ALL_LEVELS, minimum=0, engine=0,
      unit="epochs"),
    p("caption_tag_dropout_rate", FLOAT, 0.0, "Tag dropout",
      "The chance that each individual tag is left out of a caption (the fixed first tags excepted).",
      levels=ALL_LEVELS, minimum=0, maximum=1, engine=0.0),
    p("token_warmup_min", INT, 1, "Tag warmup: starting tags",
      "With tag warmup, how many tags captions start with before growing to full length.", levels=ALL_LEVELS,
      minimum=1, engine=1),
    p("token_warmup_step", INT_OR_FLOAT, 0, "Tag warmup: length",
      "Over how many steps captions grow to full length (a value below 1 is a fraction of the run). 0 turns "
      "tag warmup off.", levels=ALL_LEVELS, minimum=0, engine=0),
    p("max_token_length", CHOICE, None, "Caption length limit",
      "How many tokens of each caption the text encoder reads: empty means 75; 150 or 225 read long "
      "captions in chunks.", choices=(150, 225), families=SD_UNET),
    p("weighted_captions", BOOL, False, "Weighted captions",
      "Read (word:1.2)-style weights in captions, as image generators do. Parentheses in captions then "
      "change meaning.", families=SD_UNET),
    p("cache_info", BOOL, False, "Cache image sizes",
      "Remember image sizes and captions in a metadata_cache.json inside each image folder so the next start "
      "is faster. Writes that file into your dataset folder.", levels=ALL_LEVELS,
      dataset_kinds=DREAMBOOTH_KIND, engine=False),

    # --- augmentation --------------------------------------------------------------------------
    p("flip_aug", BOOL, False, "Mirror images",
      "Randomly mirror images left-right. Doubles the variety, but breaks asymmetric subjects (text, a "
      "parting, a logo).", levels=ALL_LEVELS, engine=False),
    p("color_aug", BOOL, False, "Colour jitter",
      "Randomly shift hues slightly. Incompatible with caching latents.", levels=ALL_LEVELS, engine=False),
    p("random_crop", BOOL, False, "Random crop",
      "Crop a random part instead of the centre when an image is larger than its bucket. Incompatible with "
      "caching latents.", levels=ALL_LEVELS, engine=False),
    p("face_crop_aug_range", FLOAT_PAIR, None, "Face crop range",
      "For face-centred images: crop around the centre with a random face size between these two fractions "
      "of the image (for example 2.0 and 4.0).", levels=ALL_LEVELS),
    p("alpha_mask", BOOL, False, "Use transparency as a loss mask",
      "Images with an alpha channel only train where they are opaque; the transparent background is ignored.",
      targets=(Target.CONFIG,)),
]
