"""Exports of the registry: spreadsheets (CSV), maps (GeoJSON) and aid transparency (IATI XML)."""
