"""Webhook delivery (retry, signature) against a real receiver; 50 concurrent submissions."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from talkinghead.service.auth import owner_id, webhook_secret_for
from talkinghead.service.webhooks import verify
from tests.service.conftest import (
    KEY,
    OTHER_KEY,
    PORTRAIT,
    Api,
    LocalHTTP,
    ServerProcess,
    b64,
    short_wav,
)


def test_webhook_is_signed_retried_and_verifiable(api: Api, local_http: LocalHTTP) -> None:
    secret = api.client.get("/api/v3/webhook/secret").json()["data"]["secret"]
    assert secret.startswith("whsec_") and secret != "whsec_test-secret"  # this key's own
    other = Api(str(api.client.base_url), OTHER_KEY)
    try:
        other_secret = other.client.get("/api/v3/webhook/secret").json()["data"]["secret"]
    finally:
        other.close()
    assert other_secret.startswith("whsec_") and other_secret != secret
    assert secret == webhook_secret_for("whsec_test-secret", owner_id(KEY))  # as documented
    local_http.fail_first = 2  # the receiver answers 500 twice, then 200
    hook = f"{local_http.url}/hook"
    job = api.submit({"image": b64(PORTRAIT), "audio": b64(short_wav(0.5))}, webhook=hook)
    assert job.status_code == 200, job.text
    job_id = job.json()["data"]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mine = [r for r in local_http.received if json.loads(r.body)["id"] == job_id]
        if len(mine) == 3:
            break
        time.sleep(0.1)
    assert len(mine) == 3, f"expected 3 attempts, got {len(mine)}"
    assert {r.headers["webhook-id"] for r in mine} == {f"whk_{job_id}"}  # one event, retried
    final = mine[-1]
    assert verify(secret, final.headers, final.body)
    assert not verify(other_secret, final.headers, final.body)  # tenant B cannot forge A's
    assert not verify(secret, final.headers, final.body.replace(b"completed", b"failed!!!"))
    assert not verify("whsec_other", final.headers, final.body)
    payload = json.loads(final.body)
    assert payload["status"] == "completed" and payload["outputs"]
    assert payload["input"]["image"].startswith("<base64")
    time.sleep(0.5)  # no more deliveries after a 2xx
    assert len([r for r in local_http.received if json.loads(r.body)["id"] == job_id]) == 3


def test_fifty_concurrent_submissions_all_complete(server: ServerProcess) -> None:
    image, audio = b64(PORTRAIT), b64(short_wav(0.5))

    def one(i: int) -> dict[str, object]:
        client = Api(server.url)
        try:
            return client.run({"image": image, "audio": audio, "size": "512", "seed": i},
                              poll_s=0.5)
        finally:
            client.close()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    elapsed = time.monotonic() - started
    assert [r["status"] for r in results] == ["completed"] * 50, [r["error"] for r in results]
    assert len({r["id"] for r in results}) == 50
    print(f"50 jobs in {elapsed:.1f} s")


def test_webhook_id_and_signature_survive_a_restart(tmp_path, local_http: LocalHTTP) -> None:
    """A delivery pending at shutdown is sent again after the restart under the same id."""
    env = {"TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32", "TALKINGHEAD_WEBHOOK_BACKOFF_S": "0.2",
           "TALKINGHEAD_WEBHOOK_ATTEMPTS": "50"}
    data_dir = tmp_path / "data"
    hook = f"{local_http.url}/restart-hook"

    def mine(job_id: str) -> list:
        return [r for r in local_http.received if json.loads(r.body)["id"] == job_id]

    first = ServerProcess(data_dir, workers=1, env=env).start()
    api = Api(first.url)
    local_http.fail_first = 10_000  # refuse every delivery until the restart
    try:
        job = api.submit({"image": b64(PORTRAIT), "audio": b64(short_wav(0.5))}, webhook=hook)
        job_id = job.json()["data"]["id"]
        deadline = time.monotonic() + 60
        while not mine(job_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mine(job_id), "no delivery attempt before the restart"
    finally:
        api.close()
        first.stop()
        local_http.fail_first = 0
    before = len(mine(job_id))
    second = ServerProcess(data_dir, workers=1, env=env).start()
    api = Api(second.url)
    try:
        secret = api.client.get("/api/v3/webhook/secret").json()["data"]["secret"]
        deadline = time.monotonic() + 30
        while len(mine(job_id)) == before and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        api.close()
        second.stop()
    received = mine(job_id)
    assert len(received) > before, "not sent again after the restart"
    assert {r.headers["webhook-id"] for r in received} == {f"whk_{job_id}"}
    assert verify(secret, received[-1].headers, received[-1].body)
