"""The captioner families, declared as data: their models, the files a model folder needs, options.

Nothing else lists a captioner's options: the dialog, the ``caption`` command line and the worker's
validation all read them from here. Adding a model to a family is one line in ``models``.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.captioning.options import BOOL, CHOICE, FLOAT, INT, REPLACEMENTS, TAG_LIST, TEXT, Option
from services.errors import UserInputError

TAGS, SENTENCE = "tags", "sentence"


@dataclass(frozen=True)
class ModelChoice:
    id: str  # a Hugging Face repository id
    label: str
    note: str = ""


@dataclass(frozen=True)
class Family:
    id: str  # wd14, blip, blip2: the --captioner value and the worker's dispatch key
    title: str
    description: str
    output: str  # TAGS or SENTENCE: how results combine with existing captions
    models: tuple[ModelChoice, ...]
    # Files a model folder must hold; a tuple entry names alternatives, any one of which will do.
    required_files: tuple[str | tuple[str, ...], ...]
    # What is fetched from the Hub (never pickle weights: *.bin, *.pt, *.ckpt are not downloaded).
    download_patterns: tuple[str, ...]
    options: tuple[Option, ...]

    @property
    def default_model(self) -> str:
        return self.models[0].id

    def option(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(key)


# --- options shared by several families -------------------------------------------------

def _batch(default: int) -> Option:
    return Option("batch_size", "Batch size", INT, default,
                  "Images run through the model at once. Larger is faster on a GPU but needs more memory; "
                  "if the model runs out of memory, lower it.", group="Performance", minimum=1, maximum=256)


LOADER_THREADS = Option(
    "loader_threads", "Loader threads", INT, 2,
    "Threads that decode and resize the next images while the model works on the current batch.",
    group="Performance", minimum=1, maximum=16)
PREFIX = Option("prefix", "Prefix", TEXT, "",
                "Text put at the start of every caption, such as a trigger word (\"sks person\").",
                group="Output", placeholder="trigger word, …")
SUFFIX = Option("suffix", "Suffix", TEXT, "", "Text put at the end of every caption.", group="Output")

TORCH_DEVICE = Option(
    "device", "Device", CHOICE, "auto",
    "Where the model runs. Automatic picks a CUDA or ROCm GPU, then Apple's MPS, then the CPU.",
    group="Performance", choices=(("auto", "Automatic"), ("cuda", "CUDA / ROCm GPU"), ("mps", "Apple MPS"),
                                  ("cpu", "CPU")))
PRECISION = Option(
    "precision", "Precision", CHOICE, "auto",
    "Number format of the weights. Automatic uses float16 on a GPU (bfloat16 where the GPU prefers it) and "
    "float32 on the CPU; half precision is refused on the CPU.",
    group="Performance", choices=(("auto", "Automatic"), ("fp32", "float32"), ("fp16", "float16"),
                                  ("bf16", "bfloat16")))
DECODING = Option(
    "decoding", "Decoding", CHOICE, "beam",
    "Beam search gives the most likely caption; nucleus sampling gives more varied ones.",
    group="Generation", choices=(("beam", "Beam search"), ("sampling", "Nucleus sampling (top-p)")))
NUM_BEAMS = Option("num_beams", "Beams", INT, 3, "Number of beams searched; 1 is greedy decoding.",
                   group="Generation", minimum=1, maximum=20, enabled_when=("decoding", ("beam",)))
TOP_P = Option("top_p", "Top-p", FLOAT, 0.9,
               "Sample from the smallest set of words whose probability adds up to this.",
               group="Generation", minimum=0.01, maximum=1.0, step=0.05, enabled_when=("decoding", ("sampling",)))
REPETITION_PENALTY = Option(
    "repetition_penalty", "Repetition penalty", FLOAT, 1.0,
    "Above 1 discourages repeating the same words.", group="Generation", minimum=1.0, maximum=3.0, step=0.1)


# --- WD14 -------------------------------------------------------------------------------

WD14_OPTIONS = (
    Option("general_threshold", "General threshold", FLOAT, 0.35,
           "A general tag is kept when the model's confidence is at least this.", group="Tags",
           minimum=0.0, maximum=1.0, step=0.05),
    Option("character_threshold", "Character threshold", FLOAT, 0.85,
           "A character tag is kept when the model's confidence is at least this.", group="Tags",
           minimum=0.0, maximum=1.0, step=0.05),
    Option("rating", "Rating tag", CHOICE, "drop",
           "Whether the most likely rating (general, sensitive, questionable, explicit) becomes a tag.",
           group="Tags", choices=(("drop", "Leave out"), ("first", "Put first"), ("last", "Put last"))),
    Option("character_first", "Character tags first", BOOL, False,
           "Put the character tags before the general ones.", group="Tags"),
    Option("max_tags", "Maximum tags", INT, 0,
           "Keep at most this many general and character tags, the most confident ones.", group="Tags",
           minimum=0, maximum=1000, special_value_text="no limit"),
    Option("exclude_tags", "Tags to exclude", TAG_LIST, (),
           "Tags never written, separated by commas (as the model spells them or after the replacements).",
           group="Tags", placeholder="simple background, white background"),
    Option("tag_replacements", "Tag replacements", REPLACEMENTS, (),
           "One per line: old tag -> new tag (an empty new tag removes it).", group="Tags",
           placeholder="1girl -> woman"),
    Option("replace_underscores", "Replace underscores with spaces", BOOL, True,
           "Write \"long hair\" rather than \"long_hair\"; short emoticons such as ^_^ are kept as they are.",
           group="Output"),
    Option("escape_parentheses", "Escape parentheses", BOOL, False,
           "Write \\( and \\) so that prompt tools do not read them as emphasis.", group="Output"),
    PREFIX,
    SUFFIX,
    _batch(4),
    Option("execution_provider", "Execution provider", CHOICE, "auto",
           "The onnxruntime backend. Automatic picks CUDA, then ROCm, then DirectML, then the CPU, "
           "whichever is installed and has a device.",
           group="Performance", choices=(("auto", "Automatic"), ("cuda", "CUDA"), ("rocm", "ROCm"),
                                         ("directml", "DirectML"), ("cpu", "CPU"))),
    LOADER_THREADS,
)

WD14 = Family(
    id="wd14",
    title="WD14 tagger",
    description="Danbooru-style tags for anime and illustration, from SmilingWolf's ONNX taggers.",
    output=TAGS,
    models=(
        ModelChoice("SmilingWolf/wd-eva02-large-tagger-v3", "WD EVA02-Large v3", "most accurate, 1.2 GB"),
        ModelChoice("SmilingWolf/wd-vit-large-tagger-v3", "WD ViT-Large v3", "1.2 GB"),
        ModelChoice("SmilingWolf/wd-swinv2-tagger-v3", "WD SwinV2 v3", "470 MB"),
        ModelChoice("SmilingWolf/wd-convnext-tagger-v3", "WD ConvNeXT v3", "390 MB"),
        ModelChoice("SmilingWolf/wd-vit-tagger-v3", "WD ViT v3", "380 MB"),
        ModelChoice("SmilingWolf/wd-v1-4-moat-tagger-v2", "WD 1.4 MOAT v2", "330 MB"),
        ModelChoice("SmilingWolf/wd-v1-4-swinv2-tagger-v2", "WD 1.4 SwinV2 v2", "470 MB"),
        ModelChoice("SmilingWolf/wd-v1-4-convnextv2-tagger-v2", "WD 1.4 ConvNeXTV2 v2", "390 MB"),
        ModelChoice("SmilingWolf/wd-v1-4-convnext-tagger-v2", "WD 1.4 ConvNeXT v2", "390 MB"),
        ModelChoice("SmilingWolf/wd-v1-4-vit-tagger-v2", "WD 1.4 ViT v2", "370 MB"),
    ),
    required_files=("model.onnx", "selected_tags.csv"),
    download_patterns=("model.onnx", "selected_tags.csv"),
    options=WD14_OPTIONS,
)

# --- BLIP -------------------------------------------------------------------------------

_HF_FILES = ("*.json", "*.safetensors", "*.txt", "*.model")
# transformers 5 saves the processor as processor_config.json; Hub repositories carry
# preprocessor_config.json. Weights: one file, or shards with their index. Never pickles.
_HF_REQUIRED = ("config.json", ("preprocessor_config.json", "processor_config.json"),
                ("model.safetensors", "model.safetensors.index.json"))

BLIP = Family(
    id="blip",
    title="BLIP",
    description="One-sentence captions for photographs (Salesforce BLIP).",
    output=SENTENCE,
    models=(
        ModelChoice("Salesforce/blip-image-captioning-large", "BLIP large", "1.9 GB"),
        ModelChoice("Salesforce/blip-image-captioning-base", "BLIP base", "990 MB"),
    ),
    required_files=_HF_REQUIRED,
    download_patterns=_HF_FILES,
    options=(
        Option("prompt", "Prompt prefix", TEXT, "",
               "The caption starts with this text and the model continues it (\"a photograph of\").",
               group="Generation", placeholder="a photograph of"),
        DECODING, NUM_BEAMS, TOP_P,
        Option("min_length", "Minimum length", INT, 5, "Fewest tokens in a caption.", group="Generation",
               minimum=0, maximum=256),
        Option("max_length", "Maximum length", INT, 40, "Most tokens in a caption.", group="Generation",
               minimum=1, maximum=512),
        REPETITION_PENALTY,
        PREFIX, SUFFIX,
        _batch(4), TORCH_DEVICE, PRECISION, LOADER_THREADS,
    ),
)

# --- BLIP-2 -----------------------------------------------------------------------------

BLIP2 = Family(
    id="blip2",
    title="BLIP-2",
    description="Sentence captions or answers to a question, from BLIP-2 with an OPT or Flan-T5 language model.",
    output=SENTENCE,
    models=(
        ModelChoice("Salesforce/blip2-opt-2.7b", "BLIP-2 OPT 2.7B", "15 GB in float32, 7.7 GB in float16"),
        ModelChoice("Salesforce/blip2-opt-2.7b-coco", "BLIP-2 OPT 2.7B COCO", "fine-tuned for captions"),
        ModelChoice("Salesforce/blip2-opt-6.7b", "BLIP-2 OPT 6.7B", "31 GB in float32"),
        ModelChoice("Salesforce/blip2-opt-6.7b-coco", "BLIP-2 OPT 6.7B COCO", "fine-tuned for captions"),
        ModelChoice("Salesforce/blip2-flan-t5-xl", "BLIP-2 Flan-T5 XL", "16 GB in float32"),
        ModelChoice("Salesforce/blip2-flan-t5-xl-coco", "BLIP-2 Flan-T5 XL COCO", "fine-tuned for captions"),
        ModelChoice("Salesforce/blip2-flan-t5-xxl", "BLIP-2 Flan-T5 XXL", "48 GB in float32"),
    ),
    required_files=_HF_REQUIRED,
    download_patterns=_HF_FILES,
    options=(
        Option("prompt", "Prompt", TEXT, "",
               "Empty for a plain caption, or a question: \"Question: what is the person wearing? Answer:\".",
               group="Generation", placeholder="Question: what does the picture show? Answer:"),
        DECODING, NUM_BEAMS, TOP_P,
        Option("min_new_tokens", "Minimum length", INT, 1, "Fewest new tokens in a caption.", group="Generation",
               minimum=0, maximum=256),
        Option("max_new_tokens", "Maximum length", INT, 40, "Most new tokens in a caption.", group="Generation",
               minimum=1, maximum=512),
        REPETITION_PENALTY,
        PREFIX, SUFFIX,
        _batch(2), TORCH_DEVICE, PRECISION,
        Option("quantization", "Quantization", CHOICE, "none",
               "Load the language model in 8 or 4 bits to fit a smaller GPU (needs bitsandbytes and a CUDA GPU).",
               group="Performance", choices=(("none", "None"), ("8bit", "8-bit"), ("4bit", "4-bit"))),
        LOADER_THREADS,
    ),
)

FAMILIES: tuple[Family, ...] = (WD14, BLIP, BLIP2)
_BY_ID = {f.id: f for f in FAMILIES}


def family(family_id: str) -> Family:
    try:
        return _BY_ID[family_id]
    except KeyError:
        raise UserInputError(f"Unknown captioner {family_id!r}.",
                             "Choose one of: " + ", ".join(_BY_ID)) from None
