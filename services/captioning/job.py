"""One captioning job: which captioner, which model, which images, with which options.

The GUI and the CLI build it, ``validate`` checks it (unknown or out-of-range options are refused
before a process starts), and it travels to the worker as the ``job`` line of the protocol.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from services.captioning.families import family
from services.captioning.options import resolve
from services.errors import UserInputError


@dataclass
class CaptionJob:
    family: str
    model: str
    images: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    models_dir: str = ""
    separator: str = ", "
    offline: bool = False  # never try the network (also when HF_HUB_OFFLINE is set)

    def validate(self) -> CaptionJob:
        """A copy with every option resolved (defaults filled in), or a UserInputError."""
        fam = family(self.family)
        if not self.model.strip():
            raise UserInputError("No model chosen.", f"Pick one of the {fam.title} models or a local folder.")
        if not self.images:
            raise UserInputError("There are no images to caption.",
                                 "Check the target (selection, filtered or all) and the existing-caption policy.")
        options = resolve(fam.options, self.options)
        return CaptionJob(self.family, self.model.strip(), [str(p) for p in self.images], options,
                          str(self.models_dir), self.separator, bool(self.offline))

    @property
    def batch_size(self) -> int:
        return int(self.options.get("batch_size") or family(self.family).option("batch_size").default)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> CaptionJob:
        if not isinstance(raw, dict):
            raise UserInputError("The job is not an object.")
        try:
            job = cls(family=str(raw["family"]), model=str(raw["model"]), images=list(raw["images"]),
                      options=dict(raw.get("options") or {}), models_dir=str(raw.get("models_dir", "")),
                      separator=str(raw.get("separator", ", ")), offline=bool(raw.get("offline", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserInputError(f"The job is incomplete or malformed: {exc!r}.") from None
        if not all(isinstance(p, str) for p in job.images):
            raise UserInputError("The job's images must be paths.")
        return job
