"""Personal data: encrypted at rest with per-tenant keys, masked, searchable by keyed hash."""
