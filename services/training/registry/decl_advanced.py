"""Advanced: rarely needed switches."""

from __future__ import annotations

from services.training.families import DIT, FULL_MODES
from services.training.registry._decl import BOOL, CHOICE, declarer
from services.training.registry.spec import Group

p = declarer(Group.ADVANCED)

PARAMETERS = [
    p("torch_compile", BOOL, False, "Compile the model",
      "Compile the model with torch.compile: faster steps after a slow start; not every setup supports it."),
    p("dynamo_backend", CHOICE, "inductor", "Compiler backend", "The torch.compile backend.",
      choices=("eager", "aot_eager", "inductor", "aot_ts_nvfuser", "nvprims_nvfuser", "cudagraphs", "ofi",
               "fx2trt", "onnxrt", "tensort", "ipex", "tvm"), engine="inductor", conditions="torch_compile"),
    p("skip_latents_validity_check", BOOL, False, "Skip the latent cache check",
      "Do not verify cached latents on start (full Flux/SD3 finetunes).", families=DIT, modes=FULL_MODES),
]
