"""Model access for eval runs: the litellm provider client and the built-in offline simulator.

Nothing here imports litellm at module import time: ``import litellm`` takes seconds and, unless
``LITELLM_LOCAL_MODEL_COST_MAP=True`` is set first, tries to download a price map. Modules import it
inside the functions that need it.
"""
