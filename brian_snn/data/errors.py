"""The one exception type of the dataset layer."""
from __future__ import annotations

from ..errors import BrianSnnError


class DataError(BrianSnnError, ValueError):
    """A data file or data option is unusable.

    The message is always a single line that names the file (or URL, or option) and the
    problem, e.g. ``.../train-images-idx3-ubyte.gz: truncated: header says 60000 images of
    28x28, file holds 1234 bytes of pixel data``.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
