from tests.conftest import ServerProcess


def test_healthz_answers_once_ready(server: ServerProcess) -> None:
    with server.api() as api:
        r = api.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
