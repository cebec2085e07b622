"""Tenant configuration: categories, severities, departments, channels, demand types, profile."""
