"""tideloop._core: the private compiled core.  Import from `tideloop` instead."""
from .core import Handle, Loop, SocketTransport, TimerHandle  # noqa: F401
