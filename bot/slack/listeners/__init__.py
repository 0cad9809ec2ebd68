"""Bolt listeners by Slack surface; each acks, takes what Bolt injects and hands on to `Conversations`.

Listener parameters are not keyword-only, however many: Bolt (1.30) finds the arguments to inject
with `inspect.getfullargspec(...).args`, which leaves keyword-only parameters out.
"""
