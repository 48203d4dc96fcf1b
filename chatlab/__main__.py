"""`python -m chatlab`: the terminal side of Chat Lab (see chatlab.cli)."""

from chatlab.cli import main

raise SystemExit(main())
