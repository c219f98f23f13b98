"""The Relata HTTP service; `relata.service.app.create_app` builds it."""
