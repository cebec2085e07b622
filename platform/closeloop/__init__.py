"""Closeloop: complaints and after-sales service requests, from first contact to the follow-up
that closes the loop, for many companies on one deployment."""

__version__ = "0.1.0"
