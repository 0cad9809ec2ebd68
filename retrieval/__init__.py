"""Retrieval for podcast-bot: the site's pages → episodes and sections → the index → search →
answers, and their evaluation. `bot/` imports only from here.

The public names are listed in `__init__.pyi` (one list, read by type checkers and by lazy_loader)
and each is imported from its module on first use, so that importing `retrieval` costs nothing: a
CLI's `--help` loads no model, LangChain or Chroma.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
