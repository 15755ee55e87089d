"""The pieces of the `tito` command line (see tito.py)."""


class CommandError(Exception):
    """A user-facing error: tito prints it as one line and exits with code 2, having written nothing."""
