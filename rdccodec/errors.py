"""One exception type per kind of failure; the CLI prints each as one line."""


class RDCError(Exception):
    """Base of every error rdc reports to a user (exit status 1 in the CLI)."""


class CorruptStream(RDCError):
    """The bytes are not a decodable .rdc stream (bad magic, CRC, length or content)."""


class UnsupportedVersion(CorruptStream):
    """The stream's major version is newer than this decoder."""


class ModelMismatch(RDCError):
    """The stream was made with other weights than the loaded model's."""


class LatentMismatch(RDCError):
    """Decoded latent symbols differ from the encoder's: entropy tables drifted."""


class UnsupportedImage(RDCError):
    """The input cannot be read as an image rdc codes."""


class LimitExceeded(RDCError):
    """A declared size is over the configured limit (see --max-pixels)."""


class ImageNote(UserWarning):
    """Part of an input image that rdc does not code (alpha, 16-bit depth, later frames): a warning, since
    the rest codes as usual."""
