"""The pieces of the `tito` command line (see tito.py)."""
