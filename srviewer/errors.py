"""Error types shared by every layer.

A `SrviewerError` carries a message meant for the user: the CLI prints it on one line and exits
with status 2, the window shows it in a message bar. Anything else is a bug.
"""


class SrviewerError(Exception):
    """Base class: a clear, one-line message for the user."""


class ImageReadError(SrviewerError):
    """An image could not be read: unreadable, corrupt, unsupported or above the pixel limit."""


class ImageWriteError(SrviewerError):
    """An image or result could not be written (the previous file, if any, is left intact)."""


class ModelFileError(SrviewerError):
    """A model file is missing, corrupt, of the wrong architecture or scale, or unsafe to load."""


class MethodUnavailable(SrviewerError):
    """A method cannot run, for example because its weights file is missing."""


class OutOfMemoryError(SrviewerError):
    """Inference ran out of memory even with the smallest tile size."""


class DataError(SrviewerError):
    """Training or validation data cannot be had: empty folder, unreadable files, hub offline."""


class Cancelled(Exception):
    """A job was cancelled by the user. Not an error to report."""


class DegradationError(SrviewerError):
    """A degradation chain string or setting is malformed (names the step and what it wants)."""
