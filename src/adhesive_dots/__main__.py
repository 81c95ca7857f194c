"""``python -m adhesive_dots`` is ``adots``."""

from adhesive_dots.cli import main

main()
