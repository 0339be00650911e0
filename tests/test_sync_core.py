"""The sync's core cases without Java or a running server, against the fake KoboToolbox server
built from the contract samples (tests/fake_kobo.py): first and incremental syncs, edits,
deletions, validation changes, ``start`` and ``offset`` links, legacy records; a listing cut
short (empty or partial) that must never delete records for good, mass deletions refused unless
confirmed, records that come back; and starting one form over (``--full-refresh``)."""

from __future__ import annotations

import pytest
from fake_kobo import BASE, SAMPLE_UID, TOKEN, FakeKobo, empty_page, first_records, gateway_timeout
from snapshots import assert_same, snapshot

import etl.sync
from aimak.errors import ConfigError, DeletionsRefusedError, KoboUnavailableError
from etl.http import HttpClient, RetryPolicy
from etl.kobo import KoboClient
from etl.sync import FormSyncResult, check_scope, raise_for_refusals, sync_form
from warehouse.db import connect
from warehouse.store import WarehouseStore

FAST = RetryPolicy(attempts=3, base=0.001, cap=0.002)
PAGE = 7  # records per data page: 20 records are 3 pages


@pytest.fixture()
def kobo(requests_mock) -> FakeKobo:
    return FakeKobo(20).install(requests_mock)


@pytest.fixture()
def client() -> KoboClient:
    return KoboClient(HttpClient(BASE, TOKEN, policy=FAST))


class Warehouse:
    """One warehouse file with its landing folder, and what the tests read from it."""

    def __init__(self, folder):
        self.folder = folder
        self.conn = connect(folder / "w.duckdb")
        self.store = WarehouseStore(self.conn, folder / "landing")

    def sync(self, client: KoboClient, **options) -> FormSyncResult:
        self.asset = client.asset(SAMPLE_UID)
        return sync_form(client, self.store, self.asset, page_limit=PAGE, **options)

    def table(self) -> list[tuple]:
        """(_id, _uuid, validation status) of every row of the form's submissions table."""
        name = self.conn.execute("SELECT table_name FROM form_tables WHERE asset_uid = ? AND "
                                 "repeat_path = ''", [self.asset["uid"]]).fetchone()[0]
        return self.conn.execute(f'SELECT _id, _uuid, _validation_status FROM "{name}" '
                                 "ORDER BY _id").fetchall()

    def raw(self, where: str = "TRUE") -> list[tuple]:
        return self.conn.execute(f"SELECT _id, _uuid, superseded_at IS NOT NULL, deleted_at IS NOT NULL "
                                 f"FROM raw_submissions WHERE {where} ORDER BY ALL").fetchall()


@pytest.fixture()
def warehouse(tmp_path):
    made = []

    def make(name: str = "w") -> Warehouse:
        made.append(Warehouse(tmp_path / name))
        return made[-1]

    yield make
    for w in made:
        w.conn.close()


def on_server(kobo: FakeKobo) -> list[tuple]:
    return [(i, r["_uuid"], (r.get("_validation_status") or {}).get("uid"))
            for i, r in sorted(kobo.main.records.items())]


def data_queries(kobo: FakeKobo) -> list[str]:
    return [q.get("query", "") for _m, path, q in kobo.requests
            if path.endswith("/data/") and "fields" not in q]


# --- the core cases ----------------------------------------------------------------------------

def test_first_sync__every_record_once_in_the_form_table(kobo, client, warehouse):
    w = warehouse()
    result = w.sync(client)
    assert (result.new, result.pages, result.submissions, result.quarantined) == (20, 3, 20, 0)
    assert w.table() == on_server(kobo)
    assert sorted(p.name for p in (w.folder / "landing" / kobo.main.uid).iterdir()) == [
        "after-000000000000.ndjson.gz", "after-000040215007.ndjson.gz", "after-000040215014.ndjson.gz"]


def test_incremental_sync__asks_only_for_records_after_the_cursor(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.submit(4)
    kobo.requests.clear()
    second = w.sync(client)
    assert (second.new, second.unchanged, second.submissions) == (4, 0, 24)
    assert data_queries(kobo)[0] == '{"_id":{"$gt":40215020}}'
    third = w.sync(client)
    assert (third.new, third.edited, third.deleted, third.rebuilt) == (0, 0, 0, False)
    assert w.table() == on_server(kobo)


def test_edit_delete_and_validation_change__found_by_the_listing(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    old_uuid = kobo.main.records[40215003]["_uuid"]
    new_uuid = kobo.main.edit(40215003, **{"hh_info/village": "Edited"})
    [gone] = kobo.main.delete(40215005)
    kobo.main.validate(40215008, "validation_status_not_approved")
    result = w.sync(client)
    assert (result.new, result.edited, result.deleted, result.validation_changed) == (0, 1, 1, 1)
    assert result.refused is None and w.table() == on_server(kobo)
    assert w.raw("_id IN (40215003, 40215005)") == sorted([
        (40215003, old_uuid, True, False),  # the version before the edit stays, superseded
        (40215003, new_uuid, False, False),
        (40215005, gone["_uuid"], False, True)])  # the deleted record stays, marked


@pytest.mark.parametrize(("links", "legacy"), [("offset", False), ("start", True)])
def test_older_servers__offset_links_and_legacy_records_make_the_same_table(requests_mock, client,
                                                                            warehouse, links, legacy):
    current = FakeKobo(20).install(requests_mock)
    w = warehouse("current")
    w.sync(client)
    older = FakeKobo(20, links=links, legacy=legacy).install(requests_mock)
    o = warehouse("older")
    result = o.sync(client)
    assert result.pages == 3 and o.table() == w.table() == on_server(current) == on_server(older)


# --- listings cut short ------------------------------------------------------------------------

def test_empty_listing_once__nothing_deleted_then_a_correct_listing_changes_nothing(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    before = snapshot(w.conn)
    kobo.main.proxy_listing(empty_page)
    cut = w.sync(client)
    assert (cut.deleted, cut.held_back) == (0, 20)
    assert "would delete 20 of its 20 live submissions" in cut.refused
    assert "data endpoint counts 20" in cut.refused and "\n" not in cut.refused
    assert f"aimak sync --form {kobo.main.uid} --confirm-deletions" in cut.refused
    assert_same(snapshot(w.conn), before)  # nothing deleted, nothing marked stale
    again = w.sync(client)
    assert (again.deleted, again.refused, again.rebuilt) == (0, None, False)
    assert w.table() == on_server(kobo)


def test_partial_listing_once__refused_by_the_servers_count_then_a_correct_one_syncs(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.proxy_listing(first_records(4))  # the first page cut after 4 records, no next link
    kobo.main.delete(40215020)  # one real deletion, in the same run
    cut = w.sync(client)
    assert cut.deleted == 0 and cut.held_back == 16
    assert "shows 4 records up to _id 40215020 while its data endpoint counts 19" in cut.refused
    assert len(w.table()) == 20
    fixed = w.sync(client)
    assert (fixed.deleted, fixed.refused) == (1, None) and w.table() == on_server(kobo)


def test_mass_deletion__refused_until_the_data_manager_confirms_it(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.delete(*range(40215001, 40215012))  # 11 of 20: test submissions cleared
    refused = w.sync(client)
    assert (refused.deleted, refused.held_back) == (0, 11)
    assert "would delete 11 of its 20 live submissions" in refused.refused
    assert "more than half" in refused.refused and len(w.table()) == 20
    with pytest.raises(DeletionsRefusedError) as caught:
        raise_for_refusals([FormSyncResult("other", "aOther"), refused])
    assert str(caught.value) == refused.refused
    confirmed = w.sync(client, confirm_deletions=True)
    assert (confirmed.deleted, confirmed.refused, confirmed.submissions) == (11, None, 9)
    assert w.table() == on_server(kobo)
    assert len(w.raw("deleted_at IS NOT NULL")) == 11  # the rows stay, marked


def test_a_few_deletions_that_agree_with_the_count__applied_without_asking(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.delete(*range(40215001, 40215011))  # exactly half: not more than half
    result = w.sync(client)
    assert (result.deleted, result.refused) == (10, None) and w.table() == on_server(kobo)


def test_no_deletion__no_extra_request_for_the_count(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.requests.clear()
    w.sync(client)
    assert not [q for q in data_queries(kobo) if "$lte" in q]


# --- records that come back --------------------------------------------------------------------

def test_wrongly_confirmed_deletions__undone_by_the_next_correct_listing(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.proxy_listing(empty_page)
    gone = w.sync(client, confirm_deletions=True)
    assert gone.deleted == 20 and w.table() == []
    new_uuid = kobo.main.edit(40215002, **{"hh_info/village": "Edited meanwhile"})
    back = w.sync(client)
    assert (back.restored, back.edited, back.submissions) == (19, 1, 20)
    assert w.table() == on_server(kobo) and (40215002, new_uuid, False, False) in w.raw()


def test_records_put_back_below_the_cursor__fetched_though_never_seen(kobo, client, warehouse):
    w = warehouse()
    lost = kobo.main.delete(40215004, 40215006)  # not there at the first sync
    w.sync(client)
    kobo.main.put_back(lost)  # a server restored from a backup
    result = w.sync(client)
    assert (result.new, result.submissions) == (2, 20) and w.table() == on_server(kobo)


# --- one form started over ---------------------------------------------------------------------

def test_full_refresh__tables_rebuilt_from_a_fresh_pull_and_raw_history_kept(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    first_pages = sorted((w.folder / "landing" / kobo.main.uid).iterdir())
    old_uuid = kobo.main.records[40215007]["_uuid"]
    kobo.main.edit(40215007, **{"hh_info/village": "Edited"})
    kobo.main.delete(40215009)
    kobo.main.submit(2)
    refreshed = w.sync(client, full_refresh=True)
    assert (refreshed.new, refreshed.edited, refreshed.deleted, refreshed.rebuilt) == (2, 1, 1, True)
    assert refreshed.pages == 3  # every record pulled again, from the first one
    clean = warehouse("clean")
    clean.sync(client)
    assert_same(without_raw(snapshot(w.conn)), without_raw(snapshot(clean.conn)))
    assert (40215007, old_uuid, True, False) in w.raw()  # the edited record's old version stays
    assert [r[3] for r in w.raw("_id = 40215009")] == [True]  # the deleted one stays, marked
    assert all(p.exists() for p in first_pages)  # earlier landed pages are not overwritten


def test_full_refresh__brings_back_rows_a_bad_listing_marked_deleted(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.proxy_listing(empty_page)
    w.sync(client, confirm_deletions=True)
    refreshed = w.sync(client, full_refresh=True)
    assert (refreshed.restored, refreshed.submissions) == (20, 20) and w.table() == on_server(kobo)


def test_full_refresh_of_a_form_emptied_on_the_server__deletions_judged_like_any_sync(kobo, client, warehouse):
    w = warehouse()
    w.sync(client)
    kobo.main.delete(*list(kobo.main.records))
    refused = w.sync(client, full_refresh=True)  # the fresh pull reaches no record at all
    assert (refused.deleted, refused.held_back, refused.submissions) == (0, 20, 20)
    assert "would delete 20 of its 20 live submissions" in refused.refused
    confirmed = w.sync(client, full_refresh=True, confirm_deletions=True)
    assert (confirmed.deleted, confirmed.submissions) == (20, 0)


def test_full_refresh_interrupted__the_next_plain_sync_finishes_it(kobo, client, warehouse, monkeypatch):
    monkeypatch.setattr(etl.sync, "LOAD_BATCH", 1)  # each page its own commit
    w = warehouse()
    w.sync(client)
    kobo.main.edit(40215016, **{"hh_info/village": "Edited"})
    kobo.main.proxy_data(lambda page: (200, page))  # the first page of the refresh comes...
    kobo.main.proxy_data(gateway_timeout, times=FAST.attempts)  # ...then the gateway gives up
    with pytest.raises(KoboUnavailableError):
        w.sync(client, full_refresh=True)
    assert w.store.cursor(kobo.main.uid) == 40215007  # started over, one page in
    finished = w.sync(client)
    assert finished.rebuilt and finished.pages == 2 and w.table() == on_server(kobo)


@pytest.mark.parametrize("option", ["full_refresh", "confirm_deletions"])
def test_starting_over_or_confirming__needs_a_form_named(option):
    with pytest.raises(ConfigError, match=f"--{option.replace('_', '-')} acts on one form"):
        check_scope(None, **{option: True})
    check_scope("household", **{option: True})



def without_raw(tables: dict) -> dict:
    """Every table but raw_submissions, which keeps history a fresh warehouse does not have."""
    return {name: rows for name, rows in tables.items() if name != "raw_submissions"}
