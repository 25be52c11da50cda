"""``python -m brian_snn ...`` = ``brian-snn ...``."""
import sys

from .cli import main

sys.exit(main())
