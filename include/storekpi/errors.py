"""Errors that map onto the command line's exit codes (spec README: 2 usage/config, 3 blocked, 1 other)."""


class StorekpiError(Exception):
    exit_code = 1


class ConfigError(StorekpiError):
    """Bad invocation or configuration; the message names the option or file."""

    exit_code = 2


class BlockedError(StorekpiError):
    """A quality gate failed: nothing was published."""

    exit_code = 3


class BusyError(StorekpiError):
    """Another run or `forget` holds the warehouse; nothing was done."""
