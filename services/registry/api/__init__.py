"""HTTP routers of the registry: thin adapters from requests to the domain modules."""
