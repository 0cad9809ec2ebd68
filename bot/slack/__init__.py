"""The Slack surface: the Bolt app, Block Kit messages, the app's state store and the HTTP/Socket Mode servers."""
