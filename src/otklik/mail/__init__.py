"""Inbound mail (F-15): transports (IMAP, POP3, SMTP/LMTP, stdin), the raw store, parsing, threading, ingest."""
