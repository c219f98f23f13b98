"""Offline training: archive → features → neighbours → versioned model artifact."""
