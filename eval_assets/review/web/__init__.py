"""The review page: a small Starlette app over the warehouse's review queries.

- ``security``: who may use the page (local binds, the token for any other host) and CSRF tokens (pure);
- ``app``: routes, templates and the security middleware (thin: queries in ``eval_assets.warehouse.review``,
  view models in ``eval_assets.review.page``).
"""
