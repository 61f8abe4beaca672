"""Matching service: the graph read model and partner suggestions (see its own issue)."""
