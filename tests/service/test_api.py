"""The hosted-API routes against a real server: happy paths, every refusal, ownership."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from tests.service.conftest import (
    OTHER_KEY,
    PORTRAIT,
    Api,
    LocalHTTP,
    ServerProcess,
    b64,
    short_wav,
)

MP4_MAGIC = b"ftyp"


def body(**extra: object) -> dict[str, object]:
    return {"image": b64(PORTRAIT), "audio": b64(short_wav(1.0)), **extra}


def test_url_output_happy_path(api: Api, server: ServerProcess) -> None:
    submitted = api.submit(body(seed=7, size="512"))
    assert submitted.status_code == 200
    envelope = submitted.json()
    assert envelope["code"] == 200 and envelope["message"] == "success"
    data = envelope["data"]
    assert data["status"] in ("created", "processing")
    assert data["model"] == "bytedance/avatar-omni-human"
    assert data["urls"]["get"] == f"{server.url}/api/v3/predictions/{data['id']}/result"
    assert set(data) >= {"id", "model", "outputs", "urls", "has_nsfw_contents", "status",
                         "created_at", "error", "timings"}

    done = api.wait(data["id"])
    assert done["status"] == "completed", done["error"]
    assert done["error"] == "" and done["timings"]["inference"] > 0
    assert done["has_nsfw_contents"] == [False]
    assert done["progress"]["done"] == done["progress"]["total"] == 25
    (url,) = done["outputs"]
    video = httpx.get(url)  # the signed URL needs no key
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == MP4_MAGIC
    unsigned = url.split("?")[0]
    assert httpx.get(unsigned).status_code == 401
    assert httpx.get(url.replace("sig=", "sig=0")).status_code == 401
    assert api.client.get(unsigned).status_code == 200  # a key works too
    same = api.client.get(f"/api/v3/predictions/{data['id']}").json()["data"]
    assert same["id"] == data["id"] and same["status"] == "completed"


def test_base64_output(api: Api) -> None:
    done = api.run(body(enable_base64_output=True))
    assert done["status"] == "completed", done["error"]
    (encoded,) = done["outputs"]
    assert base64.b64decode(encoded)[4:8] == MP4_MAGIC


def test_url_inputs_and_data_uri(api: Api, local_http: LocalHTTP) -> None:
    done = api.run({"image": f"{local_http.url}/to-portrait",
                    "audio": f"{local_http.url}/speech.wav"})
    assert done["status"] == "completed", done["error"]
    done = api.run({"image": "data:image/png;base64," + b64(PORTRAIT),
                    "audio": "data:audio/wav;base64," + b64(short_wav(0.5))})
    assert done["status"] == "completed", done["error"]


def test_model_15_mapping(api: Api) -> None:
    response = api.submit(body(resolution="720p", seed=-1, fast_mode=True, prompt=""),
                          model="bytedance/avatar-omni-human-1.5")
    assert response.status_code == 200, response.text
    done = api.wait(response.json()["data"]["id"])
    assert done["model"] == "bytedance/avatar-omni-human-1.5"
    assert done["status"] == "completed", done["error"]
    for extra, field in (({"prompt": "she smiles"}, "prompt"),
                         ({"mask_url": "https://example.com/m.png"}, "mask_url"),
                         ({"resolution": "4k"}, "resolution")):
        refused = api.submit(body(**extra), model="bytedance/avatar-omni-human-1.5")
        assert refused.status_code == 400 and field in refused.json()["message"]


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (128, 128), "white").save(buffer, format="GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(("payload", "status", "words"), [
    ({"image": "!!!not base64!!!", "audio": b64(b"x")}, 400, "image: neither"),
    ({"image": b64(gif_bytes()), "audio": b64(short_wav(0.5))}, 415, "GIF images are not"),
    ({"image": b64(PORTRAIT), "audio": b64(b"\0" * (1024 * 1024 + 10))}, 413, "audio"),
    ({"image": b64(PORTRAIT), "audio": "A", "colour": "red"}, 400, "unknown field 'colour'"),
    ({"image": b64(PORTRAIT), "audio": "A", "seed": "seven"}, 400, "field 'seed'"),
    ({"image": b64(PORTRAIT), "audio": "A", "fps": 500}, 400, "fps must be"),
    ({"image": b64(PORTRAIT), "audio": "A", "motion_intensity": 9}, 400, "motion_intensity"),
    ({"audio": "A"}, 400, "field 'image' is required"),
    ({"image": "http://10.1.2.3/a.png", "audio": "A"}, 400, "image: '10.1.2.3' resolves"),
    ({"image": "http://169.254.169.254/latest", "audio": "A"}, 400, "link-local"),
    ({"image": "ftp://example.com/a.png", "audio": "A"}, 400, "only http and https"),
    (["not", "an", "object"], 400, "JSON object"),
])
def test_bad_requests_are_refused(api: Api, payload: object, status: int, words: str) -> None:
    response = api.client.post("/api/v3/bytedance/avatar-omni-human", json=payload)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == status and answer["data"] is None
    assert words in answer["message"]


def test_bad_json(api: Api) -> None:
    response = api.client.post("/api/v3/bytedance/avatar-omni-human", content=b'{"image": ',
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]


def test_urls_to_loopback_and_redirect_loops(api: Api, local_http: LocalHTTP) -> None:
    audio = b64(short_wav(0.5))
    refused = api.submit({"image": f"{local_http.url}/to-loopback", "audio": audio})
    assert refused.status_code == 400 and refused.json()["error_code"] == "blocked_address"
    looped = api.submit({"image": f"{local_http.url}/loop1", "audio": audio})
    assert looped.status_code == 400 and "more than 3 redirects" in looped.json()["message"]
    missing = api.submit({"image": f"{local_http.url}/nothing.png", "audio": audio})
    assert missing.status_code == 400 and "HTTP 404" in missing.json()["message"]
    webhook = api.submit(body(), webhook="http://192.168.1.1/hook")
    assert webhook.status_code == 400 and webhook.json()["message"].startswith("webhook: ")


def test_a_picture_with_no_face_is_refused_at_once_unless_boxes_are_given(api: Api) -> None:
    blank = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 180, 160)).save(blank, format="PNG")
    audio = b64(short_wav(0.5))
    refused = api.submit({"image": b64(blank.getvalue()), "audio": audio})
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["error_code"] == "no_face" and "give its mouth's box" in answer["message"]
    boxed = api.run({"image": b64(blank.getvalue()), "audio": audio,
                     "mouth": [100, 160, 60, 20], "eyes": [[80, 90, 30, 20]]})
    assert boxed["status"] == "completed", boxed["error"]
    bad_box = api.submit({"image": b64(blank.getvalue()), "audio": audio, "mouth": [1, 2]})
    assert bad_box.status_code == 400 and "four whole numbers" in bad_box.json()["message"]


def test_failures_inside_the_task_are_reported(api: Api) -> None:
    not_audio = api.run({"image": b64(PORTRAIT), "audio": b64(b"this is not audio" * 20)})
    assert not_audio["status"] == "failed" and "audio" in not_audio["error"]


def test_auth(server: ServerProcess, api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = httpx.post(f"{server.url}/api/v3/bytedance/avatar-omni-human",
                              json=body(), headers=headers)
        assert response.status_code == 401
        answer = response.json()
        assert answer["code"] == 401 and answer["data"] is None and answer["message"]
    job_id = api.submit(body()).json()["data"]["id"]
    other = Api(server.url, key=OTHER_KEY)
    try:
        assert other.client.get(f"/api/v3/predictions/{job_id}/result").status_code == 404
    finally:
        other.close()
    assert api.client.get("/api/v3/predictions/nope/result").status_code == 404
    api.wait(job_id)


def test_health_docs_and_playground(server: ServerProcess) -> None:
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["workers"] == 2
    assert httpx.get(f"{server.url}/docs").status_code == 200
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v3/bytedance/avatar-omni-human" in spec["paths"]
    assert "/api/v3/bytedance/avatar-omni-human-1.5" in spec["paths"]
    assert "/api/v3/predictions/{job_id}/result" in spec["paths"]
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and "talkinghead" in page.text


def test_cues_come_back_at_once_in_the_format_asked(api: Api) -> None:
    from xml.etree import ElementTree

    audio = b64(short_wav(2.0))
    answer = api.client.post("/api/v1/cues", json={"audio": audio, "format": "xml"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    cues = ElementTree.fromstring(answer.text).findall("mouthCues/mouthCue")
    assert cues and {c.text for c in cues} <= set("ABCDEFGHX")
    visemes = api.client.post("/api/v1/cues", json={"audio": audio, "format": "visemes",
                                                    "fps": 30}).json()
    assert len(visemes["frames"]) == 60 and len(visemes["visemes"]) == 15
    for body, status, words in (
            ({"audio": audio, "format": "gif"}, 400, "format"),
            ({"audio": audio, "format": "srt"}, 400, "captions need the words"),
            ({"audio": audio, "fps": 99}, 400, "fps must be"),
            ({"format": "tsv"}, 400, "'audio' is required"),
            ({"audio": "not base64 at all!"}, 400, "audio")):
        bad = api.client.post("/api/v1/cues", json=body)
        assert bad.status_code == status and words in bad.json()["message"], bad.text
    assert httpx.post(f"{api.client.base_url}/api/v1/cues",
                      json={"audio": audio}).status_code == 401
