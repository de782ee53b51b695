from sqlalchemy import text


def test_smoke(session, backend):
    assert session.execute(text("select 1")).scalar() == 1
