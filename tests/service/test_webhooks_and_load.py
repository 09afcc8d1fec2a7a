"""Webhook delivery (retry, signature) against a real receiver; 50 concurrent submissions."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from talkinghead.service.webhooks import verify
from tests.service.conftest import PORTRAIT, Api, LocalHTTP, ServerProcess, b64, short_wav


def test_webhook_is_signed_retried_and_verifiable(api: Api, local_http: LocalHTTP) -> None:
    secret = api.client.get("/api/v3/webhook/secret").json()["data"]["secret"]
    assert secret == "whsec_test-secret"
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
    assert len({r.headers["webhook-id"] for r in mine}) == 1  # one event, retried
    final = mine[-1]
    assert verify(secret, final.headers, final.body)
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
