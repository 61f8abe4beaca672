"""The learned ranker of partner suggestions: features, model, training (see docs/matching.md)."""
