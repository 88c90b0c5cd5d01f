"""Identity's use cases, one module per concern; :class:`services.identity.app.IdentityApp`
is all of them on one event store. Synchronous, like the eventsourcing library: the API
calls them through ``shared.runtime.blocking``."""
