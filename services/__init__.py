"""The domain and the engines of LoRA Studio, as plain Python.

Modules here import no Qt. The adapters that do (QThread/QRunnable workers, item models fed by
the domain) live in a ``qt`` subpackage of their area (``services/<area>/qt/``, shared ones in
``services/qt/``) so that the architecture contracts can tell them apart; domain modules never
import them.
"""
