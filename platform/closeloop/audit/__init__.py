"""Tamper-evident audit: append-only, hash-chained entries per tenant."""
