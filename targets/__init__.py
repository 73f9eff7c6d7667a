"""Audiences: the publics a territory addresses, their targeting presets and the value of a result."""
