"""Tools for the demo and the tests, not for production: answering Airflow's human-in-the-loop
tasks the way a person in the UI would, and environment helpers for the sandbox."""
