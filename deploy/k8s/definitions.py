"""The same assets, each step a Kubernetes Job: ``dagster-k8s``'s ``k8s_job_executor`` (not installed here).

Load this module instead of ``eval_assets.definitions`` in the code location of a Kubernetes deployment
(``dagster api grpc -m deploy.k8s.definitions``, or the Helm chart's ``dagsterApiGrpcArgs``), with
``pip install dagster-k8s==<the dagster version's k8s release>`` in that image. Untested here: no cluster.
"""

import dagster as dg
from dagster_k8s import k8s_job_executor

from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    """The eval_assets definitions with every step of every run in its own Kubernetes Job."""
    return dg.Definitions.merge(build_definitions(Settings.from_env()), dg.Definitions(executor=k8s_job_executor))
