"""The scorers: one module per family, each registering itself with :mod:`eval_assets.scoring.registry`.

Every module in this package is imported (in name order) the first time anything asks the registry,
so a new scorer is one new module here plus its table test; nothing else is edited. A module declares,
for each scorer: its name, version, options model (strict, a description on every field), whether it
needs a reference, and its score function. Keep the pure comparison logic public (``contains``,
``extract_numbers``, ...) and the registered wrapper thin, so the logic is tested on its own.

Problems with the *output* (no number in it, invalid JSON) are failures with a ``detail``, never
exceptions. Problems with the *configuration* (a bad regex or schema, a reference a scorer can never
use) are found when the config and datasets are validated, before any model is called.
"""
