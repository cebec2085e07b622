"""Identity: users, roles, API keys, passwords and tokens, and the caller (`Principal`)."""
