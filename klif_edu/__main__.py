"""`python -m klif_edu` runs the `klif-edu` command."""
from .cli import main

raise SystemExit(main())
