"""Who may do what: the roles a token carries, weakest first."""

ROLES = ("viewer", "editor", "admin")  # each role can do what the ones before it can
