"""The base of every error hwmodel raises on purpose (malformed counts, target files or
measurements, an estimate a target cannot make): ``hwmodel`` prints its message as one line."""


class HwmodelError(ValueError):
    pass
