"""HTTP pieces all three services share: errors, auth, health, the app factory."""
