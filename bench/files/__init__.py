"""The bench's file servers (HTTP, HTTPS, FTP, FTPS) for firmware images and uploads."""

from bench.files.model import (
    Direction,
    FaultMode,
    FilesConfig,
    FileServiceError,
    Transfer,
    TransferFault,
)
from bench.files.service import FileService

__all__ = ["Direction", "FaultMode", "FileService", "FileServiceError", "FilesConfig",
           "Transfer", "TransferFault"]
