"""Airflow hooks: one per vendor API, speaking that API and nothing else."""
