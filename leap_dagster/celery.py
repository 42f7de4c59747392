"""The Celery executor of the distributed profile: each step a Celery task on the queue named after its pool.

Imported only when LEAP_EXECUTOR=celery (or by deploy/celery_definitions.py), so the single-machine
default needs neither dagster-celery nor Redis.
"""

from __future__ import annotations

from typing import Any

from dagster import Executor, InitExecutorContext, executor
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

from leap_core.config import get_settings


def _submit_to_pool_queue(app: Any, plan_context: Any, step: Any, queue: str, priority: int,
                          known_state: Any) -> Any:
    """An explicit queue tag wins; otherwise the step's pool names its queue.

    LEAP_CELERY_QUEUE_PREFIX namespaces the queues, so deployments (or test runs) can share one Redis;
    `deploy/commands.sh celery-worker` applies the same prefix.
    """
    chosen = queue if DAGSTER_CELERY_QUEUE_TAG in step.tags else (step.pool or queue)
    prefixed = get_settings().celery_queue_prefix + chosen
    return _submit_task(app, plan_context, step, prefixed, priority, known_state)


class PoolQueueCeleryExecutor(CeleryExecutor):
    def execute(self, plan_context: Any, execution_plan: Any) -> Any:
        from dagster_celery.core_execution_loop import core_celery_execution_loop

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=_submit_to_pool_queue)


@executor(name="leap_celery", config_schema=CELERY_CONFIG)
def leap_celery_executor(init_context: InitExecutorContext) -> Executor:
    config = init_context.executor_config
    return PoolQueueCeleryExecutor(
        broker=config.get("broker"), backend=config.get("backend"), config_source=config.get("config_source"),
        include=config.get("include"), retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
    )


# Broker and backend stay Dagster `env` config, read when a run starts: their URLs may carry a password,
# which then never sits in a definition or the UI. Settings declares them too (celery_broker/backend),
# so they are documented and validated with every other knob.
CELERY_SETTINGS = {
    "broker": {"env": "LEAP_CELERY_BROKER"},
    "backend": {"env": "LEAP_CELERY_BACKEND"},
    "config_source": {"task_default_queue": "dagster", "worker_prefetch_multiplier": 1,
                      "broker_connection_retry_on_startup": True},
}

pool_queue_celery_executor = leap_celery_executor.configured(CELERY_SETTINGS, name="leap_celery_from_env")
"""Broker and backend from LEAP_CELERY_BROKER / LEAP_CELERY_BACKEND."""
