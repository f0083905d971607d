"""The HTTP API (FastAPI): one router per resource, errors as RFC 9457 problem JSON."""
