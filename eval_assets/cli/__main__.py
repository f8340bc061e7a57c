"""``python -m eval_assets.cli``: the same as the ``eval-assets`` command."""

from eval_assets.cli.console import console_main

console_main()
