"""``--venue``: the settings a real venue takes and refuses, and where its run starts (its orders and positions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actors.assembly._config import LIVE_SAFETY, resolve
from actors.assembly._real_venue import run_prefix, spot_symbol
from actors.assembly._recovery import VenueDisagrees, agree_with_venue
from actors.cli._run_shadow import main
from actors.core._exchange import ExchangeOrder, PlaceRequest
from actors.core._instruments import instrument_for
from actors.core._orders import OrderStore
from actors.core._risk import RiskEngine, RiskLimits
from actors.core._types import Side
from actors.venues._simulated import FakeExchangeClient

LIVE = ["--market", "live:binance:btcusdt"]
REAL = {"venue": "binance-testnet", "market": ["live:binance:btcusdt,ethusdt"]}


def test_a_real_venue_turns_the_order_size_and_rate_checks_on_unless_they_are_set() -> None:
    config = resolve(overrides=REAL, override_source="setting")
    assert (config.max_order_usd, config.max_orders_per_sec, config.quote_notional_usd) == (100.0, 2, 20.0)
    assert config.quote_notional_usd < config.max_order_usd  # the quotes themselves pass the size check
    assert set(LIVE_SAFETY) == {"max_order_usd", "max_orders_per_sec", "quote_notional_usd"}
    mine = resolve(overrides={**REAL, "max_order_usd": "0", "max_orders_per_sec": "7"}, override_source="setting")
    assert (mine.max_order_usd, mine.max_orders_per_sec) == (0.0, 7)  # set by hand, 0 included: the user's
    simulated = resolve(overrides={"market": ["live:binance:btcusdt"]}, override_source="setting")
    assert (simulated.max_order_usd, simulated.max_orders_per_sec, simulated.quote_notional_usd) == (0.0, 0, 1000.0)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--venue", "binance-testnet"], "need its live market: --market live:binance:SYMBOLS"),
        (["--venue", "binance-testnet", "--market", "live:binance-usdm:btcusdt"], "not binance-usdm"),
        (["--venue", "binance", *LIVE], "real money; add --real-money"),
        (["--venue", "binance-usdm-demo", "--market", "live:binance-usdm:btcusdt"], "BINANCE_API_KEY"),
        (["--venue", "binance-usdm-demo", *LIVE], "not binance"),
        (["--venue", "binance-testnet", *LIVE, "--fill-model", "market"], "fills come from the real venue"),
        (["--venue", "binance-testnet", *LIVE, "--timeout-rate", "0.1"], "a real venue makes its own faults"),
        (["--venue", "binance-testnet", *LIVE, "--flat-balances", "BTC=lots"], "ASSET=AMOUNT"),
        (["--venue", "binance-testnet", *LIVE], "BINANCE_API_KEY and BINANCE_API_SECRET not set"),
        (["--venue", "binance-testnet", *LIVE, "--venue-rest-url", "https://api.binance.com"], "--real-money"),
        (["--venue", "kraken", *LIVE], "--venue"),
        (["--venue", "binance-testnet", *LIVE, "--journal", "/tmp/j"], "its run keeps no journal"),
        (["--keys-file", "/etc/passwd"], "only with a real venue"),
        (["--unknown-orders", "adopt"], "only with a real venue"),
        (["--flat-balances", "BTC=1"], "only with a real venue"),
        (["--venue", "binance-usdm-demo", "--market", "live:binance-usdm:btcusdt", "--flat-balances", "BTC=1"],
         "spot only"),
    ],
)
def test_a_real_venue_it_cannot_have_is_one_line_and_exit_2(
    argv: list[str], words: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    if "--venue-rest-url" in argv:
        monkeypatch.setenv("BINANCE_API_KEY", "key-of-the-test")
        monkeypatch.setenv("BINANCE_API_SECRET", "secret-of-the-test")
    assert main(argv, environ={}) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and words in captured.err, captured.err
    assert "secret-of-the-test" not in captured.err and "key-of-the-test" not in captured.err


def test_a_keys_file_others_may_read_is_refused_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("key-in-the-file\nsecret-in-the-file\n")
    keys.chmod(0o640)
    assert main(["--venue", "binance-testnet", *LIVE, "--keys-file", str(keys)], environ={}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"chmod 600 {keys}" in err and "secret-in-the-file" not in err


def test_client_ids_of_two_runs_never_share_a_prefix_and_fit_binances_alphabet() -> None:
    prefixes = {run_prefix() for _ in range(1000)}
    assert len(prefixes) == 1000
    store = OrderStore(id_prefix=next(iter(prefixes)))
    client_id = store.client_id_of(12_345_678)
    assert re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", client_id) and client_id.endswith("-12345678")


def test_a_spot_symbol_is_split_into_its_assets() -> None:
    assert (spot_symbol(instrument_for("ETHBTC", 1)).base, spot_symbol(instrument_for("ETHBTC", 1)).quote) == (
        "ETH", "BTC",
    )  # fmt: skip
    assert spot_symbol(instrument_for("BTCUSDT", 1)).base == "BTC"


def _start(venue: FakeExchangeClient, *, adopt: bool) -> tuple[OrderStore, RiskEngine, int, int]:
    instruments = {s: instrument_for(s, 1) for s in ("BTCUSDT", "ETHUSDT")}
    store, risk = OrderStore(id_prefix=run_prefix()), RiskEngine(RiskLimits(1e9, 1e9, -100.0, 10), instruments)
    at_start = agree_with_venue(store, risk, venue, sorted(instruments), adopt=adopt)
    assert at_start.open_orders == 2 and at_start.positions == {"BTCUSDT": 30}
    assert risk.position("BTCUSDT") == 30 and risk.orders_numbered == store.highest_number
    return store, risk, at_start.canceled, at_start.adopted


def _left_behind() -> FakeExchangeClient:
    """A venue holding a position of 30 lots and two open orders, one a person's and one another run's."""
    venue = FakeExchangeClient(seed=1, fill_rate=0.0)
    venue.place(PlaceRequest("web_1", "BTCUSDT", Side.BUY, 10_000, 30))
    venue.fill_now(venue.get_orders()[0].exchange_order_id)
    venue.place(PlaceRequest("web_2", "BTCUSDT", Side.BUY, 10_000, 5))
    venue.place(PlaceRequest("mm0badc0de-00000007", "ETHUSDT", Side.SELL, 20_000, 4))
    return venue


def test_at_the_start_orders_the_run_did_not_place_are_canceled_and_the_position_taken() -> None:
    venue = _left_behind()
    store, _risk, canceled, adopted = _start(venue, adopt=False)
    assert (canceled, adopted) == (2, 0) and venue.get_orders() == [] and store.open_orders() == []


def test_at_the_start_with_adopt_they_are_kept_under_the_runs_own_ids() -> None:
    venue = _left_behind()
    store, _risk, canceled, adopted = _start(venue, adopt=True)
    assert (canceled, adopted) == (0, 2) and len(venue.get_orders()) == 2
    mine = {order.exchange_order_id: order for order in store.open_orders()}
    assert sorted(mine) == sorted(order.exchange_order_id for order in venue.get_orders())
    assert all(order.client_id.startswith(store.id_prefix) for order in mine.values())


class _Stuck(FakeExchangeClient):
    """A venue whose mass cancel cancels nothing."""

    def cancel_all(self) -> list[ExchangeOrder]:
        return []


def test_a_venue_that_keeps_orders_open_at_the_start_stops_the_run_before_it_quotes() -> None:
    venue = _Stuck(seed=1, fill_rate=0.0)
    venue.place(PlaceRequest("web_1", "BTCUSDT", Side.BUY, 10_000, 5))
    instruments = {"BTCUSDT": instrument_for("BTCUSDT", 1)}
    with pytest.raises(VenueDisagrees, match="1 orders still open at the venue after 3 mass cancels"):
        agree_with_venue(OrderStore(), RiskEngine(RiskLimits(1e9, 1e9, -100.0, 10), instruments), venue,
                         ["BTCUSDT"], adopt=False)  # fmt: skip


def test_a_position_taken_before_the_first_mark_is_booked_at_it() -> None:
    instrument = instrument_for("BTCUSDT", 1)
    risk = RiskEngine(RiskLimits(1e9, 1e9, -100.0, 10), {"BTCUSDT": instrument})
    assert risk.adopt_position("BTCUSDT", 30) == 30 and risk.pnl() == {}
    risk.update_marks([("BTCUSDT", 10_000)])
    risk.update_marks([("BTCUSDT", 10_100)])
    line = risk.pnl()["BTCUSDT"]
    assert line.unrealised_usd(instrument.price_usd(10_100), instrument.lot_float) == pytest.approx(
        30 * instrument.lot_float * (instrument.price_usd(10_100) - instrument.price_usd(10_000))
    )


def test_runs_naming_one_budget_file_draw_on_the_same_buckets_and_others_keep_their_own(tmp_path: Path) -> None:
    from actors.assembly._real_venue import real_venue
    from actors.venues._binance import BinanceSpotVenue
    from actors.venues._binance_rules import LocalBuckets
    from actors.venues._interface import SupportsClose
    from actors.venues._shared_buckets import FileBuckets

    shared = tmp_path / "account-1.buckets"
    instruments = {"BTCUSDT": instrument_for("BTCUSDT", seed=1)}
    keys = {"BINANCE_API_KEY": "key-of-the-test", "BINANCE_API_SECRET": "secret-of-the-test"}
    venues = []
    with pytest.MonkeyPatch.context() as patch:
        for name, value in keys.items():
            patch.setenv(name, value)
        for file in (str(shared), str(shared), ""):
            config = resolve(overrides={**REAL, "venue_budget_file": file}, override_source="setting")
            venues.append(real_venue(config, instruments))
    try:
        first, second, own = (venue.budget for venue in venues if isinstance(venue, BinanceSpotVenue))
        assert isinstance(first.store, FileBuckets) and isinstance(second.store, FileBuckets)
        assert isinstance(own.store, LocalBuckets)
        assert first.try_take("POST", "/api/v3/order", {}, now=1.0) == 0.0
        limit = next(limit for limit in first.limits if limit.kind == "ORDERS")
        assert second.store.level(second.key(limit)) == 1.0  # the first run's order, seen by the second
        assert own.store.level(own.key(limit)) == 0.0
    finally:
        for venue in venues:
            assert isinstance(venue, SupportsClose)
            venue.close()


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"\xff\xfe\n\xff\n", "not text"), ("k€y-of-the-test\nsecret-of-the-test\n".encode(), "not printable ASCII")],
)
def test_a_keys_file_that_is_not_plain_ascii_is_one_line_and_shows_no_part_of_a_key(
    content: bytes, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    keys.write_bytes(content)
    keys.chmod(0o600)
    assert main(["--venue", "binance-testnet", *LIVE, "--keys-file", str(keys)], environ={}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "€" not in err and "secret-of-the-test" not in err
