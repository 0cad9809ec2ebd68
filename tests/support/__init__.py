"""Test harnesses, used by the benchmarks too: local servers that play Slack, OpenAI, GitHub, Chroma and
PostgreSQL, and helpers that drive the app."""
