"""The local server reads ODK Collect's plain multipart bodies with its own splitter and hands
anything less plain to Starlette's full parser: both give the same submission."""

from __future__ import annotations

import pytest
import requests
from fixtures.server.training import JPEG, deployed_world, instance, new_instance_id

from fieldsim.server.openrosa import split_multipart


def body(parts: list[tuple[str, str, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for head_name, head_file, data in parts:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{head_name}\"; "
                f"filename=\"{head_file}\"\r\nContent-Type: text/xml\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_split__the_parts_requests_and_collect_send():
    encoded, content_type = requests.models.RequestEncodingMixin._encode_files(
        {"xml_submission_file": ("submission.xml", b"<data/>", "text/xml"),
         "photo.jpg": ("photo.jpg", JPEG, "image/jpeg")}, {"deviceID": "collect:x"})
    assert split_multipart(content_type, encoded) == [
        ("deviceID", None, b"collect:x"),
        ("xml_submission_file", "submission.xml", b"<data/>"),
        ("photo.jpg", "photo.jpg", JPEG),
    ]
    quoted = split_multipart('multipart/form-data; boundary="b0undary"',
                             body([("xml_submission_file", "s.xml", b"<x/>")]))
    assert quoted == [("xml_submission_file", "s.xml", b"<x/>")]


@pytest.mark.parametrize("content_type, raw", [
    ("multipart/form-data", body([("a", "a", b"1")])),  # no boundary
    ("text/xml; boundary=b0undary", body([("a", "a", b"1")])),  # not multipart
    ("multipart/form-data; boundary=b0undary", b"preamble\r\n" + body([("a", "a", b"1")])),
    ("multipart/form-data; boundary=b0undary", body([("a", "a", b"1")])[:-12]),  # not closed
    ("multipart/form-data; boundary=b0undary",
     body([("a", "a", b"1")]).replace(b'filename="a"', b"filename*=UTF-8''%D0%B0")),
    ("multipart/form-data; boundary=b0undary",
     body([("a", "a", b"1")]).replace(b'name="a"', b"name=a")),  # unquoted
    ("multipart/form-data; boundary=b0undary",
     body([("a", "C:\\photos\\a.jpg", b"1")])),  # a backslash: IE paths, quoted pairs
    ("multipart/form-data; boundary=b0undary",
     body([("a", "a", b"1")]).replace(b"Content-Disposition", b"X-Other")),
])
def test_split__anything_less_plain_is_left_to_the_full_parser(content_type, raw):
    assert split_multipart(content_type, raw) is None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with deployed_world(tmp_path_factory.mktemp("multipart")) as w:
        yield w.server, w.uid, w.headers, w.xform


@pytest.mark.parametrize("quirk", [None, "unquoted"])
def test_submission__plain_or_not_the_record_and_its_file_arrive(world, quirk):
    server, uid, headers, xform = world
    instance_id = new_instance_id()
    xml = instance(uid, xform, instance_id=instance_id, photo="pump.jpg")
    raw = body([("xml_submission_file", "submission.xml", xml), ("pump.jpg", "pump.jpg", JPEG)])
    if quirk == "unquoted":
        raw = raw.replace(b'name="pump.jpg"', b"name=pump.jpg")
    plain = split_multipart("multipart/form-data; boundary=b0undary", raw) is not None
    assert plain == (quirk is None)  # the quirks go through Starlette's parser
    posted = requests.post(f"{server.api_url}/submission", data=raw, headers={
        **headers, "Content-Type": "multipart/form-data; boundary=b0undary",
        "X-OpenRosa-Version": "1.0"})
    assert posted.status_code == 201, posted.text
    page = requests.get(f"{server.api_url}/api/v2/assets/{uid}/data/", headers=headers,
                        params={"query": f'{{"_uuid": "{instance_id[5:]}"}}'}).json()
    [record] = page["results"]
    [attachment] = record["_attachments"]
    assert attachment["media_file_basename"] == "pump.jpg"
    assert requests.get(attachment["download_url"], headers=headers).content == JPEG


def test_submission__a_body_starlette_refuses_is_still_refused(world):
    server, uid, headers, xform = world
    xml = instance(uid, xform, instance_id=new_instance_id(), photo=None)
    raw = b"a preamble\r\n" + body([("xml_submission_file", "submission.xml", xml)])
    assert split_multipart("multipart/form-data; boundary=b0undary", raw) is None  # Starlette's turn
    posted = requests.post(f"{server.api_url}/submission", data=raw, headers={
        **headers, "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert posted.status_code == 400
    assert posted.text.startswith("Invalid multipart data.")


def test_submission__a_field_without_a_file_is_no_instance(world):
    server, _uid, headers, _xform = world
    posted = requests.post(f"{server.api_url}/submission", data={"xml_submission_file": "<x/>"},
                           files={"other.jpg": ("other.jpg", JPEG)}, headers=headers)
    assert posted.status_code == 400 and "empty submission" in posted.text
