"""Zendesk Support: the pure normalizer (``normalize``); client and connector modules sit beside it."""
