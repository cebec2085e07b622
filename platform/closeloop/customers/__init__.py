"""Customers as records: encrypted personal data, masked reads, exact search, erasure."""

from closeloop.customers.schemas import CustomerInput, CustomerRead
from closeloop.customers.service import PII_FIELDS, CustomerService

__all__ = ["PII_FIELDS", "CustomerInput", "CustomerRead", "CustomerService"]
