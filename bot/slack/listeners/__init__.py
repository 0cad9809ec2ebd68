"""Bolt listeners by Slack surface; each acks, takes what Bolt injects and hands on to `Conversations`."""
