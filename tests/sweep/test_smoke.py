import sqlalchemy as sa

from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW


def test_smoke(vendors, run_dag):
    engine = sa.create_engine(vendors.audit_url)

    def delete_worklist():
        with engine.connect() as conn:
            refs = [
                r[0]
                for r in conn.execute(
                    sa.text("SELECT record_ref FROM ks_plan WHERE source='tawk' AND state='manual'")
                )
            ]
        vendors.dashboard_delete(refs)

    run = run_dag(
        "ks_retention_daily",
        NOW,
        {"override_guard": True},
        answers={"tawk.confirm_deleted": ("All listed chats are deleted", delete_worklist)},
    )
    print(task_states(run))
    with engine.connect() as conn:
        for row in conn.execute(
            sa.text(
                "SELECT source, action, state, outcome, count(*) FROM ks_plan GROUP BY 1,2,3,4 ORDER BY 1,2,3,4"
            )
        ):
            print(row)
    assert str(run.state) == "success"
