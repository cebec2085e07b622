"""HTTP plumbing shared by every domain: the app factory, errors, request context, health."""
