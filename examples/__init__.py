"""Examples written from the docs alone (docs/STRATEGIES.md)."""
