"""Code shared by the Passerelles services: errors, pagination, settings, vocabularies."""
