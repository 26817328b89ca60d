"""Retrieval and the answer chain with citations."""
