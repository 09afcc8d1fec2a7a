"""Service pieces without a server: address policy, base64, signatures, settings, options."""

from __future__ import annotations

import ipaddress
import time

import pytest

from talkinghead.errors import FileTooLargeError, UnsupportedImageFormatError
from talkinghead.service.auth import ApiKeys, UrlSigner
from talkinghead.service.errors import AuthError, BlockedAddressError, RequestError
from talkinghead.service.fetch import check_image_format, decode_base64, is_url
from talkinghead.service.netguard import AddressPolicy
from talkinghead.service.schemas import Avatar15Request, AvatarRequest, parse_request, to_options
from talkinghead.service.settings import Settings
from talkinghead.service.webhooks import sign, verify


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.8.8", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "224.0.0.1", "239.1.1.1", "::1", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::",
])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().is_allowed(ipaddress.ip_address(address))


def test_allow_list_and_resolution() -> None:
    with pytest.raises(BlockedAddressError, match="loopback"):
        AddressPolicy().resolve("localhost", 80)
    assert AddressPolicy(["127.0.0.0/8"]).resolve("127.0.0.1", 80) == "127.0.0.1"
    assert not AddressPolicy(["127.0.0.1/32"]).is_allowed(ipaddress.ip_address("127.0.0.2"))


def test_base64_forms() -> None:
    raw = bytes(range(256)) * 3
    import base64

    plain = base64.b64encode(raw).decode()
    assert decode_base64(plain, field="image", max_bytes=10_000) == raw
    assert decode_base64("data:image/png;base64," + plain, field="image", max_bytes=10_000) == raw
    assert decode_base64(plain.rstrip("="), field="image", max_bytes=10_000) == raw
    wrapped = "\n".join(plain[i:i + 76] for i in range(0, len(plain), 76))
    assert decode_base64(wrapped, field="image", max_bytes=10_000) == raw
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    assert decode_base64(urlsafe, field="image", max_bytes=10_000) == raw
    with pytest.raises(RequestError, match="image: neither"):
        decode_base64("@@@@", field="image", max_bytes=100)
    with pytest.raises(RequestError, match="data URI"):
        decode_base64("data:image/png,abc", field="image", max_bytes=100)
    with pytest.raises(FileTooLargeError):
        decode_base64(plain, field="audio", max_bytes=100)
    assert is_url("https://x.y/z") and is_url("ftp://x") and not is_url(plain)


def test_image_sniffing() -> None:
    check_image_format(b"\x89PNG\r\n\x1a\n....")
    check_image_format(b"\xff\xd8\xff\xe0....")
    check_image_format(b"RIFF\0\0\0\0WEBPVP8 ")
    for data, word in ((b"GIF89a...", "GIF"), (b"BM....", "BMP"), (b"hello", "this file")):
        with pytest.raises(UnsupportedImageFormatError, match=word):
            check_image_format(data)


def test_webhook_signature_round_trip() -> None:
    body, now = b'{"id":"abc","status":"completed"}', int(time.time())
    headers = {"webhook-id": "whk_1", "webhook-timestamp": str(now),
               "webhook-signature": sign("whsec_s3cret", "whk_1", now, body)}
    assert headers["webhook-signature"].startswith("v3,")
    assert verify("whsec_s3cret", headers, body)
    assert verify("s3cret", headers, body)  # the prefix is not part of the key
    assert not verify("whsec_other", headers, body)
    assert not verify("whsec_s3cret", headers, body + b" ")
    assert not verify("whsec_s3cret", headers, body, now=now + 3600)  # too old
    assert not verify("whsec_s3cret", {}, body)


def test_keys_and_signed_urls() -> None:
    keys = ApiKeys(("a", "b"))
    assert keys.owner("Bearer a") != keys.owner("bearer b")
    for header in (None, "", "Bearer", "Bearer c", "Token a"):
        with pytest.raises(AuthError):
            keys.owner(header)
    now = [1000.0]
    signer = UrlSigner("k", ttl_s=60, clock=lambda: now[0])
    query = dict(p.split("=") for p in signer.query("/files/x.mp4").split("&"))
    assert signer.check("/files/x.mp4", query["expires"], query["sig"])
    assert not signer.check("/files/y.mp4", query["expires"], query["sig"])
    now[0] += 61
    assert not signer.check("/files/x.mp4", query["expires"], query["sig"])


def test_settings_from_env(tmp_path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# ops keys\nk2\n\nk3\n")
    settings = Settings.from_env({"TALKINGHEAD_API_KEYS": "k1, k2", "TALKINGHEAD_API_KEYS_FILE":
                                  str(keys_file), "TALKINGHEAD_WORKERS": "3",
                                  "TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32,10.0.0.0/8",
                                  "TALKINGHEAD_NSFW_POLICY": "refuse"}, workers=None)
    assert settings.api_keys == ("k1", "k2", "k3") and settings.workers == 3
    assert settings.fetch_allow == ("127.0.0.1/32", "10.0.0.0/8")
    assert settings.nsfw_policy == "refuse"
    assert Settings.from_env({}, workers=1).workers == 1
    with pytest.raises(ValueError):
        Settings.from_env({"TALKINGHEAD_NSFW_POLICY": "maybe"})
    with pytest.raises(ValueError):
        Settings.from_env({"TALKINGHEAD_FETCH_ALLOW": "not-a-network"})


def test_option_mapping() -> None:
    base = {"image": "x", "audio": "y"}
    options = to_options(parse_request(AvatarRequest, {**base, "seed": 5, "fps": 30,
                                                       "motion_intensity": 0.2}))
    assert options == {"seed": 5, "fps": 30, "head_motion": 0.2}
    chosen = to_options(parse_request(AvatarRequest, {**base, "expression": "neutral",
                                                      "lipsync": "words"}))
    assert chosen["expression"] == "neutral" and chosen["lipsync"] == "words"
    with pytest.raises(RequestError, match="expression"):
        to_options(parse_request(AvatarRequest, {**base, "expression": "furious"}))
    with pytest.raises(RequestError, match="lipsync"):
        parse_request(AvatarRequest, {**base, "lipsync": "visemes"})
    v15 = to_options(parse_request(Avatar15Request, {**base, "resolution": "1080p",
                                                     "seed": -1, "turbo_mode": True}))
    assert v15["size"] == "1080" and 0 <= v15["seed"] < 2**31
    ignored = to_options(parse_request(Avatar15Request, {**base, "prompt": "smile"}),
                         prompt_policy="ignore")
    assert "prompt" not in ignored
    with pytest.raises(RequestError, match="resolution and size"):
        to_options(parse_request(Avatar15Request, {**base, "resolution": "720p", "size": "512"}))
    with pytest.raises(RequestError, match="enable_base64_output"):
        parse_request(AvatarRequest, {**base, "enable_base64_output": "yes"})


class FakeDetector:
    def __init__(self, flagged: bool) -> None:
        self.flagged = flagged

    def is_nsfw(self, rgb: object) -> bool:
        return self.flagged


def test_nsfw_policy() -> None:
    from talkinghead.service.errors import ContentRefusedError
    from talkinghead.service.events import Task
    from talkinghead.service.worker import _check_nsfw
    from tests.conftest import EXAMPLE_PORTRAIT

    task = Task("j", str(EXAMPLE_PORTRAIT), "-", "-", {})
    assert _check_nsfw(task, FakeDetector(True), "flag") is True
    assert _check_nsfw(task, FakeDetector(False), "refuse") is False
    with pytest.raises(ContentRefusedError, match="policy refuses"):
        _check_nsfw(task, FakeDetector(True), "refuse")


def test_the_real_detector_passes_the_example_portrait() -> None:
    from talkinghead.inputs import load_portrait
    from talkinghead.service.nsfw import NudityDetector
    from tests.conftest import EXAMPLE_PORTRAIT

    assert not NudityDetector().is_nsfw(load_portrait(EXAMPLE_PORTRAIT).rgb)


def test_serve_with_an_unreachable_broker_says_so_in_one_line(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TALKINGHEAD_API_KEYS": "k",
           "TALKINGHEAD_BROKER_URL": "redis://user:secret@127.0.0.1:1/0"}
    done = subprocess.run([sys.executable, "-m", "talkinghead.cli", "serve", "--port", "1",
                           "--data-dir", str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the fleet's Redis at 127.0.0.1:1" in lines[0]
    assert "secret" not in done.stderr


def test_base64_is_decoded_in_steps_across_whitespace(monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from talkinghead.service import fetch

    monkeypatch.setattr(fetch, "_BASE64_STEP", 8)  # many steps on a small input
    raw = bytes(range(256)) * 5
    plain = base64.b64encode(raw).decode()
    for text in (plain, "\r\n".join(plain[i:i + 7] for i in range(0, len(plain), 7)),
                 "\u00a0" + plain[:100] + "\u2003" + plain[100:], plain.rstrip("=")):
        assert decode_base64(text, field="audio", max_bytes=10_000) == raw
    for bad in ("QQ==QQ==", "QUJD\u00e9QUJD", "QUJ*"):
        with pytest.raises(RequestError, match="audio: neither"):
            decode_base64(bad, field="audio", max_bytes=100)


def test_decoding_a_large_field_never_holds_the_gil_for_long() -> None:
    """A 50 MB field is decoded on a request thread; the event loop and other requests must
    keep running (one regex over the 69 MB of base64 held the GIL for 0.8 s)."""
    import base64
    import os
    import threading
    import time

    text = "\n".join(base64.b64encode(os.urandom(48 * 2**20)).decode()[i:i + 2**20]
                     for i in range(0, 64 * 2**20, 2**20))
    gaps: list[float] = []
    done = threading.Event()

    def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        data = decode_base64(text, field="image", max_bytes=50 * 2**20)
    finally:
        done.set()
        thread.join()
    assert len(data) == 48 * 2**20
    assert max(gaps) < 0.25, f"the GIL was held for {max(gaps) * 1000:.0f} ms at a stretch"
