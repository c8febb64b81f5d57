"""Task bodies: thin adapters from Airflow's context to the modules that do the work."""
