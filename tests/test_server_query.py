"""The ``query`` and ``sort`` of the local server's ``/data/``: keys are bound as parameters (never
pasted into SQL), so keys with quotes work or match nothing as in Mongo, never a 500; and
``$ne``/``$nin`` match records that lack the field, as Mongo does."""

from __future__ import annotations

import json

import pytest
import requests
from fixtures.server.training import deployed_world, instance, new_instance_id, submit

VILLAGES = ["Bel", "O'Brien", "Ак-Жар"]  # sent in this order; one has a quote


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with deployed_world(tmp_path_factory.mktemp("query")) as w:
        server, uid, headers, auth, xform = w.server, w.uid, w.headers, w.auth, w.xform
        for village in VILLAGES:
            xml = instance(uid, xform, instance_id=new_instance_id(), village=village, photo=None)
            assert submit(server.openrosa_url, auth, xml).status_code == 201
        ids = [r["_id"] for r in page(server, uid, headers)["results"]]
        requests.patch(f"{server.api_url}/api/v2/assets/{uid}/data/{ids[0]}/validation_status/",
                       headers=headers, json={"validation_status.uid": "validation_status_approved"}
                       ).raise_for_status()
        yield server, uid, headers, ids


def page(server, uid, headers, **params):
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    response = requests.get(f"{server.api_url}/api/v2/assets/{uid}/data/", headers=headers,
                            params=encoded)
    assert response.status_code == 200, response.text
    return response.json()


def ids_of(body):
    return [r["_id"] for r in body["results"]]


def test_sort__by_an_answer_key_orders_the_records(world):
    server, uid, headers, ids = world
    down = page(server, uid, headers, sort={"hh/village": -1})
    assert [r["hh/village"] for r in down["results"]] == sorted(VILLAGES, reverse=True)
    up = page(server, uid, headers, sort={"hh/village": 1})
    assert [r["hh/village"] for r in up["results"]] == sorted(VILLAGES)


@pytest.mark.parametrize("key", [
    "hh/vil'lage",
    'hh/vil"lage',
    "x') DESC, (SELECT 1/0)) --",
    "x\"'); DROP TABLE submissions; --",
])
def test_sort__a_key_with_quotes_is_not_sql__200_in_id_order(world, key):
    server, uid, headers, ids = world
    assert ids_of(page(server, uid, headers, sort={key: -1})) == ids  # no record has it: ties
    assert page(server, uid, headers)["count"] == len(VILLAGES)  # the table is still there


@pytest.mark.parametrize(("query", "matches"), [
    ({'hh/vil"lage': "Bel"}, []),
    ({'hh/vil"lage': {"$ne": "Bel"}}, [0, 1, 2]),
    ({"hh/vil'lage": {"$in": ["Bel"]}}, []),
    ({"x') OR 1=1 --": "y"}, []),
    ({"hh/village": "O'Brien"}, [1]),
])
def test_query__a_key_with_quotes_is_bound__missing_field_semantics_not_500(world, query, matches):
    server, uid, headers, ids = world
    assert ids_of(page(server, uid, headers, query=query)) == [ids[i] for i in matches]


def test_ne__includes_records_without_a_validation_status(world):
    server, uid, headers, ids = world
    body = page(server, uid, headers, query={"_validation_status.uid": {"$ne": "validation_status_approved"}})
    assert ids_of(body) == ids[1:] and body["count"] == 2
    approved = page(server, uid, headers, query={"_validation_status.uid": "validation_status_approved"})
    assert ids_of(approved) == ids[:1]


def test_nin__includes_records_without_the_field(world):
    server, uid, headers, ids = world
    body = page(server, uid, headers,
                query={"_validation_status.uid": {"$nin": ["validation_status_approved", "x"]}})
    assert ids_of(body) == ids[1:]
    assert ids_of(page(server, uid, headers, query={"no_such_question": {"$nin": ["a"]}})) == ids
    assert ids_of(page(server, uid, headers, query={"no_such_question": {"$nin": []}})) == ids
    assert ids_of(page(server, uid, headers, query={"hh/village": {"$nin": ["Bel"]}})) == ids[1:]


def test_null__matches_a_missing_field_and_ne_null_only_present_ones(world):
    server, uid, headers, ids = world
    assert ids_of(page(server, uid, headers, query={"_validation_status.uid": None})) == ids[1:]
    assert ids_of(page(server, uid, headers, query={"_validation_status.uid": {"$ne": None}})) == ids[:1]
    assert ids_of(page(server, uid, headers, query={"_validation_status.uid": {"$in": [None]}})) == ids[1:]
    assert ids_of(page(server, uid, headers, query={"_validation_status.uid": {"$nin": [None]}})) == ids[:1]


def test_query__malformed_conditions_are_400_unsupported_not_500(world):
    server, uid, headers, _ids = world
    for query in ({"$and": [1]}, {"$or": ["x"]}, {"_id": {"$in": 3}}):
        response = requests.get(f"{server.api_url}/api/v2/assets/{uid}/data/", headers=headers,
                                params={"query": json.dumps(query)})
        assert response.status_code == 400 and response.json() == ["Unsupported query"], query
