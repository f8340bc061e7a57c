"""The same assets, each step a Celery task on a worker: ``dagster-celery``'s ``celery_executor`` (not installed here).

Start a broker (e.g. RabbitMQ or Redis), then on every worker machine
``dagster-celery worker start -A dagster_celery.app -y deploy/celery/celery.yaml`` with this repository
installed, and load this module as the code location (``dagster api grpc -m deploy.celery.definitions``).
Untested here: no broker, and dagster-celery is not a dependency of this project.
"""

import dagster as dg
from dagster_celery import celery_executor

from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    """The eval_assets definitions with every step of every run sent to the Celery workers."""
    return dg.Definitions.merge(build_definitions(Settings.from_env()), dg.Definitions(executor=celery_executor))
