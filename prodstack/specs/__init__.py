"""Pure functions that build manifest-shaped specs from configuration; no Pulumi inside."""
