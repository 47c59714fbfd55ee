"""The one kind of error a step expects: an input it cannot use."""


class InputError(ValueError):
    """An input file, record or config key the step cannot use; the message names it and says why.
    The rules' step runner (``core.steps``) shows it as the step's message, without a traceback."""
