"""``python -m vhtqdm``: the same as the ``vhtqdm`` command."""

from ._cli import main

raise SystemExit(main())
