"""The Auto-caption dock: captioner choice, generated option forms, job progress."""
