"""tideloop._core: the private compiled core.  Import from `tideloop` instead."""
from .core import (  # noqa: F401
    Handle, Loop, ReadPipeTransport, SocketTransport, TimerHandle, WritePipeTransport,
)
