"""Starting the local server again on the same data folder: accounts keep their password unless
one is given, and a token that belongs to another account is refused, never taken from it."""

from __future__ import annotations

import pytest
import requests

from aimak.errors import LocalServerError
from fieldsim.server import LocalServer


def token_with(server, username, password):
    return requests.get(f"{server.api_url}/token/?format=json", auth=(username, password))


def test_restart_without_password__keeps_the_stored_one(tmp_path):
    with LocalServer(tmp_path, username="team1", password="s3cret") as first:
        token = first.token
    with LocalServer(tmp_path, username="team1") as again:
        assert again.password is None  # kept, and only its digest is stored
        assert token_with(again, "team1", "s3cret").json() == {"token": token}
        assert token_with(again, "team1", "demo").status_code == 401


def test_restart_with_password__changes_it(tmp_path):
    with LocalServer(tmp_path, username="team1", password="s3cret"):
        pass
    with LocalServer(tmp_path, username="team1", password="n3w") as again:
        assert token_with(again, "team1", "n3w").status_code == 200
        assert token_with(again, "team1", "s3cret").status_code == 401


def test_new_account_without_password__gets_demo(tmp_path):
    with LocalServer(tmp_path, username="team2") as server:
        assert server.password == "demo"
        assert token_with(server, "team2", "demo").status_code == 200


def test_token_of_another_account__refused_and_that_account_kept(tmp_path):
    with LocalServer(tmp_path, username="team1", password="s3cret") as first:
        token = first.token
    with pytest.raises(LocalServerError, match="already belongs to the account 'team1'") as raised:
        LocalServer(tmp_path, username="team2", password="x", token=token)
    assert token not in str(raised.value)  # secrets never enter a message
    with LocalServer(tmp_path, username="team1") as again:
        assert again.token == token
        assert token_with(again, "team1", "s3cret").json() == {"token": token}
        assert token_with(again, "team2", "x").status_code == 401  # not created either


def test_add_user__with_a_taken_token_is_refused(tmp_path):
    with LocalServer(tmp_path, username="team1", password="s3cret") as server:
        with pytest.raises(LocalServerError, match="'team1'"):
            server.add_user("other", "pw", server.token)
        assert token_with(server, "team1", "s3cret").json() == {"token": server.token}


def test_add_user__a_new_account_without_a_password_is_refused_with_a_fix(tmp_path):
    with LocalServer(tmp_path, username="team1", password="s3cret") as server:
        with pytest.raises(LocalServerError, match=r"needs a password\. Fix: .*--password") as raised:
            server.add_user("other", None, "c" * 40)
        assert "c" * 40 not in str(raised.value)  # secrets never enter a message
        assert server.state.store.token_of("other") is None  # not created
        server.add_user("team1", None, "d" * 40)  # an existing account keeps its password
        assert token_with(server, "team1", "s3cret").json() == {"token": "d" * 40}
