"""The one exception the compiler raises for a model it cannot compile."""


class CompileError(ValueError):
    """A model the compiler cannot turn into C: one sentence says what is wrong and what is accepted."""
