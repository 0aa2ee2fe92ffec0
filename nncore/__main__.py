"""``python -m nncore``: see nncore.cli.main."""

import sys
import time

started = time.perf_counter()  # before the imports, so wall_seconds covers the whole command

from nncore.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(started=started))
