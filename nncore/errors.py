"""The error types nncore raises on purpose.

Everything a user can get wrong (a config value, a file) raises ``ConfigError`` with a message that names
the parameter, the rule and the value, so the app and the CLI can show it as one line.
"""


class ConfigError(ValueError):
    """A configuration value breaks a rule. ``param`` names the offending field."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param
