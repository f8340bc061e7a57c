"""``python -m eval_assets.cli``: the same as the ``eval-assets`` command."""

from eval_assets.cli.main import main

raise SystemExit(main())
