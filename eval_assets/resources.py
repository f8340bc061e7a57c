"""Dagster resources: where the data lives, and the model client. Created per run, never at import."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from eval_assets.leases import cell_lease
from eval_assets.lineage import git_sha
from eval_assets.llm.calls import Provider
from eval_assets.project import EvalPlan, load_plan
from eval_assets.reporting.folder import Links, RunFolder, RunsFolder


class EvalProject(dg.ConfigurableResource):  # type: ignore[type-arg]  # generic only for typing Dagster internals
    """The data directory (configs, datasets, rubrics) and where reports are written."""

    data_dir: str = Field(description="Directory holding configs/, datasets/ and prompts/.")
    runs_dir: str = Field(description="Directory receiving <date>/<config>/ report folders.")
    report_base_url: str | None = Field(
        default=None, description="URL at which runs_dir is published: links in reports and alerts become absolute."
    )
    dagster_url: str | None = Field(default=None, description="The Dagster UI, so alerts and reports link the run.")

    def plan(self, config_name: str) -> EvalPlan:
        """The validated plan of a config (raises InvalidInputError naming file, line and field)."""
        return load_plan(Path(self.data_dir), config_name)

    def git_sha(self) -> str:
        """Commit of the repository holding the data directory, dirty when anything in it differs (untracked too)."""
        return git_sha(Path(self.data_dir))

    def runs_folder(self) -> RunsFolder:
        """The runs folder: every partition's folder, the dashboard and the shared assets."""
        return RunsFolder(Path(self.runs_dir))

    def run_folder(self, eval_date: object, config_name: str) -> RunFolder:
        """Folder of one partition's raw outputs and reports."""
        return self.runs_folder().run(eval_date, config_name)

    def links(self) -> Links:
        """What people can open: absolute URLs when configured, else local paths."""
        return Links(report_base_url=self.report_base_url, dagster_url=self.dagster_url)


class CellLeases(dg.ConfigurableResource):  # type: ignore[type-arg]  # generic only for typing Dagster internals
    """The cell leases a run's stages hold, kept until the execution ends (stages only, never sensors)."""

    wait_s: float | None = Field(
        default=None, description="Longest wait for another run of the same cell (none: as long as it runs)."
    )
    #: The cell leases this execution holds, released when it ends (see :meth:`hold`).
    _leases: contextlib.ExitStack | None = PrivateAttr(default=None)
    _held: set[Path] = PrivateAttr(default_factory=set)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[CellLeases]:
        """Scope the leases to the execution: the whole run in-process, one step under multiprocess."""
        with contextlib.ExitStack() as leases:
            self._leases, self._held = leases, set()
            try:
                yield self
            finally:
                self._leases = None

    def hold(self, lease: Path, *, run_id: str, cell: str, log: Callable[[str], None]) -> AbstractContextManager[None]:
        """Take the cell's lease (:mod:`eval_assets.leases`) and keep it until this execution ends.

        A second run of the cell used to wait only in the stages that call models, then rewrite the cell's
        responses while the first run was still computing its metrics and report from them: the first run
        failed with "no rows in runs" (seen with two ``eval-assets run`` of one cell at once). Held from the
        first stage to the end of the run, the lease makes the second run wait for the whole night, then
        replay it from the cache. Outside an execution (a stage called directly) it is the ``with`` block's.
        """
        if self._leases is None:
            return cell_lease(lease, run_id=run_id, cell=cell, wait_s=self.wait_s, log=log)
        if lease not in self._held:
            self._leases.enter_context(cell_lease(lease, run_id=run_id, cell=cell, wait_s=self.wait_s, log=log))
            self._held.add(lease)
        return contextlib.nullcontext()


class ExampleOptions(dg.Config):
    """Per-run options of the first stage (set in the launchpad or by ``eval-assets run --limit``)."""

    limit: int | None = Field(
        default=None,
        gt=0,
        description="Keep only the first N examples of each dataset: a smoke run without editing the config.",
    )


class ReplayOptions(dg.Config):
    """Per-run options of the stages that call models (set in the launchpad or by the CLI)."""

    use_cache: bool = Field(
        default=True,
        description="Reuse cached answers when the config allows it; false forces fresh calls (still stored).",
    )


class LLMClient(dg.ConfigurableResource):  # type: ignore[type-arg]  # generic only for typing Dagster internals
    """Model calls: a lean transport for OpenAI-compatible endpoints, litellm for every other provider.

    The offline simulator is a litellm provider too. See eval_assets/llm/routing.py for the rule and why.
    """

    progress_interval_s: float = Field(default=5.0, description="Seconds between progress log lines.")

    @cached_property
    def provider(self) -> Provider:
        """The routing provider, built on first use (litellm, behind it, takes seconds to import)."""
        from eval_assets.llm.routing import RoutingProvider

        return RoutingProvider()

    def prepare_offline(self, plan: EvalPlan, eval_date: str, model_ids: Sequence[str]) -> None:
        """Teach the offline simulator this run's examples, when an offline model is used."""
        if not any(model_id.startswith("offline/") for model_id in model_ids):
            return
        from eval_assets.llm.offline_setup import install_offline_simulator

        install_offline_simulator(plan, eval_date)


class WarehouseResource(DuckDBResource):
    """The warehouse: ``database`` is the warehouse setting (a DuckLake, or a DuckDB file's path).

    A DuckDBResource, so the stages keep its interface; connections come from ``eval_assets.warehouse.connect``
    (a lake needs its extensions loaded and the lake attached, which plain ``duckdb.connect`` cannot do).
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one stage's work, closed after; a plain file locked by a writer is waited for."""
        from eval_assets import warehouse

        delay = 0.1
        for attempt in range(12):  # a plain DuckDB file allows one writing process: wait for it, as Dagster's does
            try:
                conn = warehouse.connect(self.database)
                break
            except duckdb.IOException:
                if attempt == 11:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        try:
            yield conn
        finally:
            conn.close()
