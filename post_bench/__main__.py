"""``python -m post_bench``: the ``post-bench`` command (:mod:`post_bench.entry`)."""

import sys

from post_bench.entry import main

sys.exit(main())
