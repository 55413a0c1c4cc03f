"""Help > System report (issue 9)."""
