"""HTTP routers of the matching service."""
