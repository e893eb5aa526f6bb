"""Salesforce (enrichment only): the pure Account normalizer (``normalize``); client modules sit beside it."""
