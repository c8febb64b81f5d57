"""Celery settings of the native cluster (`[celery] celery_config_options`): Airflow's own
defaults, and a warm-up of each Celery worker before it forks its pool.

Every task process is forked from a pool process, and every task process loads Airflow's
plugins and parses its DAG file. Whatever the worker imported before forking is already there:
loading the plugins folder once (Airflow caches it) and importing the Google provider once
saves each task several seconds of CPU, which on a two-core CI machine is most of a run's time.
It changes what runs nowhere: the same plugins, the same code, only imported earlier.
"""

from __future__ import annotations

import importlib

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

CELERY_CONFIG = dict(DEFAULT_CELERY_CONFIG)
HEAVY_IMPORTS = (
    "airflow.providers.google.common.hooks.base_google",  # ~2 s of CPU on its own
    "airflow.providers.standard.operators.hitl",
)


@worker_init.connect
def _warm_up(**_kwargs) -> None:
    from airflow.sdk.plugins_manager import integrate_macros_plugins

    for module in HEAVY_IMPORTS:
        importlib.import_module(module)
    integrate_macros_plugins()  # loads the plugins folder, once (functools.cache)
