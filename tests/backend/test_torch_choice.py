"""The torch build for each hardware case, the user's override, and the facts from detection."""

from __future__ import annotations

import pytest

from services.backend.torch_choice import GpuFacts, HardwareFacts, build_table, choose_torch, facts_from_snapshot
from services.errors import UserInputError

GIB = 1024 ** 3
BASE = "https://download.pytorch.org/whl"


def nvidia(name="NVIDIA GeForce RTX 4090", cc="8.9", driver="570.86.10", cuda="12.8", memory=24):
    return GpuFacts("nvidia", name, driver_version=driver, driver_cuda=cuda, compute_capability=cc,
                    memory_bytes=memory * GIB)


def linux(*gpus):
    return HardwareFacts("linux", "x86_64", tuple(gpus))


def windows(*gpus):
    return HardwareFacts("windows", "amd64", tuple(gpus))


def test_the_table_pins_torch_and_torchvision_together():
    table = build_table()
    assert (table.torch, table.torchvision) == ("2.13.0", "0.28.0")
    choice = choose_torch(linux())
    assert choice.packages == ("torch==2.13.0", "torchvision==0.28.0")


def test_no_gpu_gets_the_cpu_build_from_the_cpu_index():
    choice = choose_torch(linux())
    assert (choice.kind, choice.variant, choice.index_url) == ("cpu", "cpu", f"{BASE}/cpu")
    assert choice.expected_device == "cpu" and "small tests" in choice.warnings[0]
    assert choice.installed_gb < 2


@pytest.mark.parametrize(("gpu", "system", "variant"), [
    (nvidia(), "linux", "cu128"),                                                     # Ada, new driver
    (nvidia("NVIDIA GeForce RTX 5090", "12.0", "575.51.03", "12.9", 32), "linux", "cu128"),  # Blackwell
    (nvidia("NVIDIA GeForce GTX 1080", "6.1", "580.65.06", "13.0", 8), "linux", "cu126"),   # Pascal: not in 12.8 wheels
    (nvidia("NVIDIA GeForce RTX 3060", "8.6", "560.35.03", "", 12), "linux", "cu126"),      # driver version only
    (nvidia("NVIDIA GeForce RTX 4070", "8.9", "566.36", "", 12), "windows", "cu126"),       # Windows driver numbers
    (nvidia("NVIDIA GeForce RTX 4070", "8.9", "572.16", "", 12), "windows", "cu128"),
    (nvidia("NVIDIA A100", "8.0", "", "12.8", 80), "linux", "cu128"),                      # CUDA version only
])
def test_nvidia_gets_the_newest_cuda_build_its_driver_and_architecture_support(gpu, system, variant):
    facts = HardwareFacts(system, "x86_64", (gpu,))
    choice = choose_torch(facts)
    assert (choice.kind, choice.variant) == ("cuda", variant), choice.reason
    assert choice.index_url == f"{BASE}/{variant}"
    assert choice.warnings == ()
    assert gpu.name in choice.reason and choice.installed_gb > 5


def test_a_driver_too_old_for_every_build_gets_the_oldest_fitting_build_and_says_update():
    choice = choose_torch(linux(nvidia("NVIDIA GeForce RTX 3090", "8.6", "550.54.14", "12.4")))
    assert choice.variant == "cu126"
    assert "update the driver to 560.28.03 or newer" in choice.warnings[0]


def test_blackwell_with_an_old_driver_still_gets_a_build_that_carries_its_code():
    choice = choose_torch(linux(nvidia("NVIDIA GeForce RTX 5080", "12.0", "560.35.03", "12.6", 16)))
    assert choice.variant == "cu128"          # cu126 has no Blackwell code at all
    assert "570.26 or newer" in choice.warnings[0]


def test_mixed_generations_fit_the_biggest_gpu_and_warn():
    choice = choose_torch(linux(nvidia("NVIDIA GeForce GTX 1080", "6.1", memory=8),
                                nvidia("NVIDIA GeForce RTX 5090", "12.0", memory=32)))
    assert choice.variant == "cu128"
    assert "does not support every GPU" in choice.warnings[0] and "RTX 5090" in choice.warnings[0]


def test_nvidia_without_a_driver_gets_cuda_and_the_instruction_to_install_the_driver():
    gpu = GpuFacts("nvidia", "GA102 [GeForce RTX 3090]", device_id="0x2204", has_driver=False)
    choice = choose_torch(linux(gpu))
    assert choice.kind == "cuda" and "Install the NVIDIA driver (570.26 or newer)" in choice.warnings[0]


def test_amd_on_linux_gets_rocm_and_on_windows_the_cpu_build_with_the_reason():
    rx = GpuFacts("amd", "Radeon RX 7900 XTX", memory_bytes=24 * GIB, device_id="0x744c")
    choice = choose_torch(linux(rx))
    assert (choice.kind, choice.index_url) == ("rocm", f"{BASE}/rocm7.1")
    assert choice.expected_device == "rocm" and "ROCm supports" in choice.warnings[0]
    choice = choose_torch(windows(rx))
    assert choice.kind == "cpu" and "Linux only" in choice.warnings[0]


def test_an_amd_apu_is_not_a_training_gpu():
    apu = GpuFacts("amd", "Radeon 680M", memory_bytes=512 * 1024 ** 2)
    choice = choose_torch(linux(apu))
    assert choice.kind == "cpu" and "integrated GPU" in choice.warnings[0]


@pytest.mark.parametrize("gpu", [GpuFacts("intel", "", device_id="0x56a0"),           # Arc A770 by PCI id
                                 GpuFacts("intel", "Intel(R) Arc(TM) B580 Graphics"),  # by name (Windows)
                                 GpuFacts("intel", "", device_id="0xe20b")])           # Battlemage
def test_intel_arc_gets_the_xpu_build(gpu):
    for facts in (linux(gpu), windows(gpu)):
        choice = choose_torch(facts)
        assert (choice.kind, choice.index_url) == ("xpu", f"{BASE}/xpu")


def test_intel_integrated_graphics_get_the_cpu_build():
    choice = choose_torch(linux(GpuFacts("intel", "Intel UHD Graphics 770", device_id="0x4680")))
    assert choice.kind == "cpu" and "integrated GPU" in choice.warnings[0]


def test_nvidia_wins_over_an_integrated_intel_gpu():
    choice = choose_torch(linux(GpuFacts("intel", "UHD", device_id="0x4680"), nvidia()))
    assert choice.kind == "cuda"


def test_apple_silicon_gets_pypis_wheels():
    choice = choose_torch(HardwareFacts("darwin", "arm64", (GpuFacts("apple", "Apple silicon GPU"),)))
    assert (choice.kind, choice.variant, choice.index_url) == ("mps", "default", None)


def test_the_user_can_override_the_choice_and_is_told_what_will_not_work():
    facts = linux(nvidia())
    assert choose_torch(facts, "cpu").kind == "cpu"
    forced = choose_torch(facts, "cu130")
    assert forced.variant == "cu130" and "too old for CUDA 13.0" in forced.warnings[0]
    assert forced.override == "cu130"
    assert choose_torch(linux(), "cuda").warnings[-1].startswith("No NVIDIA GPU was detected")
    assert choose_torch(linux(), "xpu").warnings[0].startswith("No Intel Arc GPU")
    assert choose_torch(linux(), "rocm").warnings[0].startswith("No AMD GPU")
    pascal = choose_torch(linux(nvidia("NVIDIA GeForce GTX 1080", "6.1")), "cu128")
    assert "carry no code" in pascal.warnings[0]


@pytest.mark.parametrize(("facts", "override", "words"), [
    (windows(), "rocm", "Linux only"), (linux(), "mps", "macOS only"), (linux(), "cu99", "Unknown torch build"),
])
def test_impossible_overrides_are_refused_with_a_hint(facts, override, words):
    with pytest.raises(UserInputError) as info:
        choose_torch(facts, override)
    assert words in info.value.message and info.value.hint


def test_a_choice_survives_a_round_trip_through_json():
    import json

    from services.backend.torch_choice import TorchChoice

    choice = choose_torch(linux(nvidia()))
    assert TorchChoice.from_dict(json.loads(json.dumps(choice.as_dict()))) == choice


def test_facts_come_from_the_hardware_snapshot_including_gpus_without_a_driver():
    from services.hardware.model import GpuInfo, HardwareSnapshot

    snapshot = HardwareSnapshot(
        cpu=None,
        gpus=[GpuInfo(key="nvml:0", vendor="NVIDIA", index=0, name="NVIDIA GeForce RTX 4090", provider="nvml",
                      memory_total=24 * GIB, driver="nvidia 570.86.10", cuda_version="12.8",
                      compute_capability="8.9", pci_bus="00000000:01:00.0")],
        pci_display_devices=[
            {"pci_slot": "0000:01:00.0", "vendor": "NVIDIA", "device_id": "0x2684", "name": "AD102"},
            {"pci_slot": "0000:03:00.0", "vendor": "Intel", "device_id": "0x56a0", "name": "DG2 [Arc A770]"},
        ])
    facts = facts_from_snapshot(snapshot, system="linux", machine="x86_64")
    first, second = facts.gpus
    assert (first.vendor, first.driver_version, first.driver_cuda, first.compute_capability) == \
        ("nvidia", "570.86.10", "12.8", "8.9")
    assert first.device_id == "0x2684" and first.memory_bytes == 24 * GIB
    assert (second.vendor, second.device_id, second.has_driver) == ("intel", "0x56a0", False)
    assert choose_torch(facts).variant == "cu128"


def test_detection_on_this_machine_finds_no_gpu_and_chooses_cpu():
    from services.backend.torch_choice import detect_facts

    facts = detect_facts()
    assert facts.system == "linux" and facts.gpus == ()
    assert choose_torch(facts).kind == "cpu"
