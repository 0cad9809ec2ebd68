"""Test harnesses: local servers that play Slack, OpenAI and Chroma, and helpers that drive the app."""
