"""Otklik: a helpdesk for a three-tier technical-support service."""

__version__ = "0.1.0"
