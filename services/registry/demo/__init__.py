"""The demo data set that makes the product speak on first run (see ATTRIBUTION.md)."""
