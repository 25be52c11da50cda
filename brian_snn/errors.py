"""The base of every error brian-snn raises on purpose (bad input, unusable files, a missing
compiler, a failed build): the CLI prints its message as one line and exits with status 2.
Each layer has its own subclass (``DataError``, ``StoreError``, ``BackendError``, ``SolsaError``,
...); they also derive from the built-in type callers already catch (ValueError, RuntimeError)."""


class BrianSnnError(Exception):
    pass
