"""``python -m sahha_sync.infrastructure.cli``: the same as the ``sahha-sync`` console script."""

from sahha_sync.infrastructure.cli import main

main()
