"""Qt adapters shared by several areas (the Session)."""
