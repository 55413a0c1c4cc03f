"""Keeping Python's cyclic garbage collector off the GUI thread's back once a workspace is loaded.

A full collection walks every tracked object: with a 10,000-image workspace (items, caption files,
thumbnail records, Qt wrappers) that is a few hundred thousand objects and 100-200 ms, during which
the event loop stands still, on whichever thread happened to allocate. Two settings fix it:

* ``gc.freeze()`` once the workspace is loaded: the long-lived objects move to the permanent
  generation, which collections do not walk (they are still freed by reference counting when
  dropped; only garbage *cycles* among them would outlive the freeze, and this data has none).
* larger thresholds for the older generations, so the tens of thousands of short-lived objects a
  batch creates do not trigger a chain of collections that ends in a full one.

This is a process-wide policy; it is applied from here because the caption editor is where a
loaded workspace meets large batch edits (the lead may move it to the composition root).
"""

from __future__ import annotations

import gc

# Young collections stay small (a few ms); the older generations are walked far less often.
THRESHOLDS = (5_000, 20, 100)


def settle_long_lived_objects() -> None:
    """Call when large long-lived structures have just been built (a workspace opened)."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(current, THRESHOLDS)))
    gc.freeze()
