"""Retrieval for podcast-bot: parse episodes, cut sections, embed, index and search them."""
