"""The stat cache of ingest: a landing file whose size, mtime and ctime are those recorded when it was read is not
read again; any difference and it is hashed (and reloaded if its content changed)."""

import os

import pytest
from ingest_support import FIXTURES, run
from pg import temp_database
from test_ingest_manifest import ORDER_1001, ORDER_1002, counts, shopify_orders

from storekpi import ingest as ingest_mod
from storekpi.ingest import forget
from storekpi.landing import LandingFile
from storekpi.warehouse import Target, Warehouse


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The relpaths whose content ingest hashes, in order (a spy: the real digest is still computed)."""
    calls: list[str] = []
    real = LandingFile.sha256

    def spy(self):
        calls.append(self.relpath)
        return real(self)

    monkeypatch.setattr(LandingFile, "sha256", spy)
    return calls


@pytest.fixture
def no_racy_window(monkeypatch):
    """Files the test wrote a moment ago may be trusted (the racy guard has a test of its own)."""
    monkeypatch.setattr(ingest_mod, "RACY_NS", 0)


def stats(wh, relpath):
    return wh.query("select file_size, file_mtime_ns, file_ctime_ns from audit.files where path = ?", [relpath])[0]


def test_an_unchanged_file_is_not_read_again(wh, landing, hashed, no_racy_window):
    path = landing.add("shop_us", "orders", "2026-11-20", "o.csv", FIXTURES / "shopify" / "orders_export_1.csv")
    run(wh, landing, "b1")
    st = os.stat(landing.root / path)
    assert stats(wh, path) == (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    hashed.clear()
    summary = run(wh, landing, "b2")
    assert hashed == []
    assert (summary.files_loaded, summary.files_unchanged) == (0, 1)


def test_same_size_and_a_new_mtime_is_hashed_and_reloaded(wh, landing, hashed, no_racy_window):
    path = landing.add("shop_us", "orders", "2026-11-20", "e.csv",
                       shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="1O.00")))
    run(wh, landing, "b1")
    assert counts(wh) == (1, 1, 1)
    before = os.stat(landing.root / path)
    landing.add("shop_us", "orders", "2026-11-20", "e.csv",
                shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="10.00")))
    os.utime(landing.root / path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert os.stat(landing.root / path).st_size == before.st_size
    hashed.clear()
    summary = run(wh, landing, "b2")
    assert hashed == [path]
    assert (summary.files_loaded, summary.rows_loaded) == (1, 2)
    assert counts(wh) == (2, 2, 0)


def test_new_content_under_the_old_size_and_mtime_is_still_reloaded(wh, landing, no_racy_window):
    """`cp -p`, `rsync -t` or unzip can put new content under the old mtime: the ctime the kernel sets catches it."""
    path = landing.add("shop_us", "orders", "2026-11-20", "e.csv",
                       shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="1O.00")))
    run(wh, landing, "b1")
    before = os.stat(landing.root / path)
    landing.add("shop_us", "orders", "2026-11-20", "e.csv",
                shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="10.00")))
    os.utime(landing.root / path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(landing.root / path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert run(wh, landing, "b2").files_loaded == 1
    assert counts(wh) == (2, 2, 0)


def test_a_file_written_just_before_the_run_is_hashed_next_run(wh, landing, hashed):
    """git's racy-clean case: a file changed in the clock tick it was read in could change again unseen."""
    path = landing.add("shop_us", "orders", "2026-11-20", "o.csv", FIXTURES / "shopify" / "orders_export_1.csv")
    run(wh, landing, "b1")
    assert stats(wh, path) == (None, None, None)
    hashed.clear()
    assert run(wh, landing, "b2").files_loaded == 0
    assert hashed == [path]


def assert_hashed_once_then_trusted(wh, landing, hashed, path):
    """After stats were cleared: the next run hashes the file once and records its stat, the one after reads nothing;
    neither reloads it."""
    hashed.clear()
    assert run(wh, landing, "b2").files_loaded == 0
    assert hashed == [path]
    assert stats(wh, path)[0] == os.stat(landing.root / path).st_size
    hashed.clear()
    assert run(wh, landing, "b3").files_loaded == 0
    assert hashed == []


def test_a_warehouse_without_stats_hashes_once_then_trusts_them(wh, landing, hashed, no_racy_window):
    """An older storekpi recorded no stats (the columns are added empty): each file is hashed once, not reloaded."""
    path = landing.add("shop_us", "orders", "2026-11-20", "o.csv", FIXTURES / "shopify" / "orders_export_1.csv")
    run(wh, landing, "b1")
    wh.execute("update audit.files set file_size = null, file_mtime_ns = null, file_ctime_ns = null")
    before = counts(wh)
    assert_hashed_once_then_trusted(wh, landing, hashed, path)
    assert counts(wh) == before


def test_forgetting_a_taobao_line_report_rereads_its_order_report(wh, landing, no_racy_window):
    taobao = FIXTURES / "taobao"
    landing.add("tmall_flagship", "orders", "2026-11-20", "ExportOrderList.csv",
                taobao / "ExportOrderList202611201200.csv")
    lines = landing.add("tmall_flagship", "orders", "2026-11-20", "ExportOrderDetailList.csv",
                        taobao / "ExportOrderDetailList202611201200.csv")
    run(wh, landing, "b1")
    assert counts(wh) == (2, 3, 4)
    forget(wh, lines)
    assert run(wh, landing, "b2").files_loaded == 1  # the unchanged order report, read again without its partner
    assert counts(wh) == (0, 0, 4)


@pytest.mark.postgres
def test_stats_are_recorded_and_trusted_on_postgres(landing, hashed, no_racy_window):
    path = landing.add("shop_us", "orders", "2026-11-20", "o.csv", FIXTURES / "shopify" / "orders_export_1.csv")
    with temp_database("storekpi_statcache") as url, Warehouse(Target(url)) as wh:
        wh.ensure_schema()
        run(wh, landing, "b1")
        wh.execute("update audit.files set file_size = null")  # as an older storekpi left it
        assert_hashed_once_then_trusted(wh, landing, hashed, path)
