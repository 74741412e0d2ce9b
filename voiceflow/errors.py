"""User-facing errors.

Anything a user can cause (a missing file, a corrupt wav, an unknown config key) raises a
:class:`VoiceflowError` whose message is one line naming the file and the problem. The
command-line entry points print it as ``error: <message>`` and exit with status 1; a
traceback is reserved for bugs.
"""


class VoiceflowError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""
