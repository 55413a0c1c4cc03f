"""Accelerate / multi-GPU: how `accelerate launch` spreads the run over GPUs and machines, plus
the distributed options of sd-scripts (DDP, DeepSpeed)."""

from __future__ import annotations

from services.training.registry._decl import BOOL, CHOICE, INT, STR, declarer
from services.training.registry.spec import Group

p = declarer(Group.ACCELERATE)
_DS = "deepspeed"

PARAMETERS = [
    p("accelerate.num_processes", INT, 1, "GPUs (processes)",
      "How many training processes to start, normally one per GPU. More than one splits every batch "
      "across GPUs.", minimum=1, engine=1),
    p("accelerate.gpu_ids", STR, None, "GPU ids",
      "Which GPUs to use, as comma-separated ids (0,1). Empty: all visible GPUs."),
    p("accelerate.multi_gpu", BOOL, False, "Multi-GPU (distributed)",
      "Launch a distributed data-parallel run; needed for more than one GPU."),
    p("accelerate.num_machines", INT, 1, "Machines",
      "How many machines take part in a multi-node run (each with its own processes).", minimum=1, engine=1),
    p("accelerate.machine_rank", INT, 0, "This machine's rank",
      "The number of this machine in a multi-node run; the main machine is 0.", minimum=0, engine=0),
    p("accelerate.main_process_ip", STR, None, "Main machine address",
      "IP address of the rank-0 machine that the others connect to."),
    p("accelerate.main_process_port", INT, None, "Main machine port",
      "The port the rank-0 machine listens on (29500 is usual).", minimum=1, maximum=65535),
    p("accelerate.num_cpu_threads_per_process", INT, 2, "CPU threads per process",
      "Threads each training process may use for CPU work such as image loading.", minimum=1),
    p("ddp_timeout", INT, None, "Distributed timeout",
      "Seconds the processes of a distributed run wait for each other before giving up (default 30 min).",
      minimum=1, unit="s"),
    p("ddp_gradient_as_bucket_view", BOOL, False, "DDP gradient bucket views",
      "Let distributed data-parallel share gradient memory with its communication buffers (saves VRAM)."),
    p("ddp_static_graph", BOOL, False, "DDP static graph",
      "Tell distributed data-parallel that the model does not change between steps (can be faster)."),
    p(_DS, BOOL, False, "DeepSpeed",
      "Train through DeepSpeed ZeRO to split optimizer state (and more) across GPUs. Needs deepspeed in "
      "the backend."),
    p("zero_stage", CHOICE, 2, "ZeRO stage",
      "How much DeepSpeed splits across GPUs: stage 1 the optimizer state, 2 also the gradients, 3 also the "
      "weights.", choices=(0, 1, 2, 3), engine=2,
      conditions=_DS),
    p("offload_optimizer_device", CHOICE, None, "Offload optimizer to",
      "Move the optimizer state to system RAM (cpu) or an NVMe drive.", choices=("cpu", "nvme"),
      conditions=_DS),
    p("offload_optimizer_nvme_path", STR, None, "Optimizer NVMe path", "Folder on the NVMe drive for it.",
      conditions=_DS),
    p("offload_param_device", CHOICE, None, "Offload weights to",
      "Move the weights to system RAM (cpu) or an NVMe drive (ZeRO stage 3).", choices=("cpu", "nvme"),
      conditions=_DS),
    p("offload_param_nvme_path", STR, None, "Weights NVMe path", "Folder on the NVMe drive for them.",
      conditions=_DS),
    p("zero3_init_flag", BOOL, False, "ZeRO-3 init", "Create large models directly split across GPUs.",
      conditions=_DS),
    p("zero3_save_16bit_model", BOOL, False, "ZeRO-3 16-bit save",
      "Gather and save 16-bit weights at the end of a ZeRO-3 run.", conditions=_DS),
    p("fp16_master_weights_and_gradients", BOOL, False, "fp16 master weights",
      "Keep DeepSpeed's master weights and gradients in fp16 (saves memory, less precise).", conditions=_DS),
]
