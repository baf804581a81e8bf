"""scaledown: the companion package of the ScaleDown TinyML / TinyMLOps course."""
__version__ = "0.1.0"

from scaledown.config import pick, quick_mode  # noqa: F401
