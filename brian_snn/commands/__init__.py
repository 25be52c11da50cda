"""The command-line shell: one module per sub-command family, each with ``register(subparsers)``
that adds its parsers (built from :mod:`brian_snn.options`) and a function per command that calls
one library function and prints its result.  Nothing in the library imports these modules."""
from . import continual, export, nir, solsa, timestep, train

COMMANDS = (train, solsa, continual, timestep, export, nir)
