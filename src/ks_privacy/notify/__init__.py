"""People in the loop: who answers human steps and who is told (`people`, from Airflow variable
`ks_people`), what they are told (`messages`: counts, references and links, never a personal
value), how (`channels`: Airflow's SMTP and Slack-webhook notifiers), and when (`notifiers` for
waiting steps and failed runs, `reports` for deadlines and the weekly digest).
See docs/notifications.md."""
