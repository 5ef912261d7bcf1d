"""The fast tier: services and adapters on models.fake and the in-memory store (seconds, no models)."""
