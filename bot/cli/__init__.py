"""The terminal surface: the `podcast-bot` command line, the REPL, terminal rendering and `doctor`."""
