"""``python -m nncore``: see nncore.cli."""

import sys
import time

started = time.perf_counter()  # before the imports, so wall_seconds covers the whole command

from .cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(started=started))
