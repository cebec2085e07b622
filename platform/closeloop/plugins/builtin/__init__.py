"""Plugins built into Closeloop, registered like any other (`manager.DEFAULT_PLUGINS`)."""
