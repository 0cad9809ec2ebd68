"""podcast-bot: the Slack app, the CLI and the local REPL."""
