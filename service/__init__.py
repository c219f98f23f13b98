"""The Relata HTTP service; `service.app.create_app` builds it."""
