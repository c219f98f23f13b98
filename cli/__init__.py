"""The `relata` command: `main` builds the group; each module adds one family of commands."""
