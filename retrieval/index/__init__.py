"""The vectors: sections embedded and stored in Chroma (embedded folder or server), and ingest that fills it."""
