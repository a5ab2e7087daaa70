"""Configuration: precedence, validation and the one-line errors, in process."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.assembly._config import ConfigError, default_values, env_name, resolve
from actors.cli._run_shadow import main, parse_config


def test_defaults_come_from_conf_default_toml() -> None:
    config = resolve()
    raw = {key: value for key, (_, value) in default_values().items()}
    assert config.symbols == tuple(raw["symbols"]) and config.iterations == raw["iterations"]
    assert config.runtime == raw["runtime"] and config.seed == raw["seed"]


def test_precedence_is_flags_then_environment_then_file_then_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("seed = 1\niterations = 2\nfill_rate = 0.9\n")
    config = resolve(config_file=path, environ={"MM_SEED": "3", "MM_ITERATIONS": "4"}, overrides={"seed": "5"})
    assert (config.seed, config.iterations, config.fill_rate) == (5, 4, 0.9)


def test_symbols_count_generates_names() -> None:
    assert resolve(overrides={"symbols_count": 3}).symbols == ("SYM00001", "SYM00002", "SYM00003")
    with pytest.raises(ConfigError, match="not both"):
        resolve(overrides={"symbols_count": 3, "symbols": "BTCUSDT"})


def test_environment_names() -> None:
    assert env_name("max_inv") == "MM_MAX_INV" and env_name("freeze_utc_iso") == "MM_FREEZE_UTC_ISO"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"iterations": True}, "integer"),
        ({"iterations": 2.5}, "integer"),
        ({"seed": -1}, "integer from 0 to"),
        ({"edge_min_fills": 0}, "integer >= 1"),
        ({"max_inv": "inf"}, "finite"),
        ({"max_total": 0}, "> 0"),
        ({"spread_bps": []}, "number"),
        ({"symbols": ["BTCUSDT", 3]}, "symbols"),
        ({"log_level": 5}, "one of"),
        ({"runtime": "fibers"}, "one of pool, sim, threads"),
        ({"freeze_utc_iso": 5}, "ISO-8601"),
        ({"colour": "red"}, "unknown setting 'colour'"),
        ({"fil_rate": 0.5}, "unknown setting 'fil_rate'; did you mean 'fill_rate'"),
    ],
)
def test_bad_values_are_one_clear_config_error(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve(overrides=overrides)


def test_log_level_is_case_insensitive() -> None:
    assert resolve(overrides={"log_level": "debug"}).log_level == "DEBUG"


def test_a_log_level_that_only_upper_cases_to_a_level_is_refused() -> None:
    with pytest.raises(ConfigError, match="--log-level: expected one of"):
        resolve(overrides={"log_level": "\u0131nfo"})  # a dotless i, which upper-cases to I


def test_cli_errors_are_one_line_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--iterations", "zero"], environ={}) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "run-shadow: error: flag --iterations: expected an integer, got 'zero'\n"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--nope"], "unknown flag --nope; run-shadow --help lists them"),
        (["--fil-rate", "0.5"], "unknown flag --fil-rate; did you mean --fill-rate?"),
        (["--fill_rate=0.5"], "unknown flag --fill_rate; did you mean --fill-rate?"),
        (["--max-inventory", "5"], "unknown flag --max-inventory; did you mean --max-inv?"),
        (["-iterations", "5"], "unknown flag -iterations; did you mean --iterations?"),
        (["--no-flaten-on-halt"], "unknown flag --no-flaten-on-halt; did you mean --no-flatten-on-halt?"),
        (["--fsync"], "unknown flag --fsync; did you mean --journal-fsync?"),
        (["--iterations", "5", "7"], "unexpected argument '7': a value goes right after its flag (run-shadow --help)"),
    ],
)
def test_an_unknown_flag_is_one_line_with_the_flag_meant(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv, environ={}) == 2
    assert capsys.readouterr() == ("", f"run-shadow: error: {line}\n")


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("fil_rate = 0.5\n", "unknown key 'fil_rate'; did you mean 'fill_rate'?"),
        ("flatten-on-halt = true\n", "unknown key 'flatten-on-halt'; did you mean 'flatten_on_halt'?"),
        ("colour = 'red'\n", "unknown key 'colour'; the keys are run-shadow's flags with _ for - (run-shadow --help "
         "lists them)"),
        ("[risk]\nmax_inv = 5\n", "unknown key 'risk': a table; the keys go at the top level, not under [risk]"),
    ],
)  # fmt: skip
def test_an_unknown_config_key_is_one_short_line_with_the_key_meant(tmp_path: Path, content: str, line: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        resolve(config_file=path)
    assert str(error.value) == f"--config {path}: {line}"  # not the 56 keys it listed before


def test_an_unknown_setting_given_to_resolve_names_the_one_meant() -> None:
    with pytest.raises(ConfigError) as error:
        resolve(overrides={"edge_treshold": 5})
    assert str(error.value) == "unknown setting 'edge_treshold'; did you mean 'edge_threshold'?"


@pytest.mark.parametrize(
    ("argv", "environ", "flatten"),
    [
        (["--flatten-on-halt"], {}, True),
        (["--flatten-on-halt", "--iterations", "3"], {}, True),
        (["--flatten-on-halt", "true"], {}, True),  # as before it was a switch: commands written for it still run
        (["--flatten-on-halt", "false"], {"MM_FLATTEN_ON_HALT": "true"}, False),
        (["--flatten-on-halt=yes"], {}, True),
        (["--no-flatten-on-halt"], {"MM_FLATTEN_ON_HALT": "true"}, False),
        (["--flatten-on-halt", "--no-flatten-on-halt"], {}, False),  # the last one given wins
        ([], {"MM_FLATTEN_ON_HALT": "true"}, True),
        ([], {}, False),
    ],
)
def test_a_true_false_option_is_a_switch_that_still_takes_true_or_false(
    argv: list[str], environ: dict[str, str], flatten: bool
) -> None:
    assert parse_config(argv, environ).flatten_on_halt is flatten


def test_the_journal_fsync_switch_and_its_negation() -> None:
    assert parse_config(["--journal-fsync"], {}).journal_fsync is True
    assert parse_config(["--no-journal-fsync"], {"MM_JOURNAL_FSYNC": "1"}).journal_fsync is False
    assert parse_config(["--journal-fsync", "off"], {}).journal_fsync is False


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--flatten-on-halt", "maybe"], "flag --flatten-on-halt: expected true or false, got 'maybe'"),
        (["--no-flatten-on-halt", "true"], "flag --no-flatten-on-halt: takes no value (it is --flatten-on-halt false)"),
        (["--no-journal-fsync=false"], "flag --no-journal-fsync: takes no value (it is --journal-fsync false)"),
    ],
)
def test_a_switch_given_a_value_it_cannot_take_is_one_line(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv, environ={}) == 2
    assert capsys.readouterr() == ("", f"run-shadow: error: {line}\n")


def test_cli_runs_and_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--iterations", "2", "--runtime", "sim"], environ={"MM_SEED": "5"}) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and '"seed":5' in out


def test_a_broken_environment_variable_is_an_error_even_where_a_flag_overrides_it() -> None:
    with pytest.raises(ConfigError, match="environment MM_SEED: expected an integer"):
        resolve(environ={"MM_SEED": "x"}, overrides={"seed": "5"})


def test_a_wrong_type_in_the_config_file_is_an_error_even_where_a_flag_overrides_it(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("max_inv = '100'\n")
    with pytest.raises(ConfigError, match="max_inv: expected an integer or a number, got str"):
        resolve(config_file=path, overrides={"max_inv": "200"})


def test_an_out_of_range_value_in_the_config_file_names_its_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("iterations = 0\n")
    with pytest.raises(ConfigError, match=r"c.toml: iterations: expected an integer from 1"):
        resolve(config_file=path)


def test_the_symbols_given_at_the_higher_layer_win_over_a_symbol_count_below(tmp_path: Path) -> None:
    assert resolve(environ={"MM_SYMBOLS_COUNT": "3"}, overrides={"symbols": "BTCUSDT"}).symbols == ("BTCUSDT",)
    assert resolve(environ={"MM_SYMBOLS": "ETHUSDT"}, overrides={"symbols_count": 2}).symbols == (
        "SYM00001",
        "SYM00002",
    )
    path = tmp_path / "c.toml"
    path.write_text("symbols_count = 4\n")
    assert resolve(config_file=path, environ={"MM_SYMBOLS": "ETHUSDT"}).symbols == ("ETHUSDT",)
    with pytest.raises(ConfigError, match="MM_SYMBOLS and environment MM_SYMBOLS_COUNT: give one"):
        resolve(environ={"MM_SYMBOLS": "ETHUSDT", "MM_SYMBOLS_COUNT": "2"})


@pytest.mark.parametrize("value", ["-1e3", "-1000", "-1000.0", "-1E+3"])
def test_a_negative_number_in_any_notation_is_a_value_not_a_flag(value: str) -> None:
    config = parse_config(["--edge-threshold", value, "--iterations", "2"], environ={})
    assert config.edge_threshold == -1000.0 and config.iterations == 2


def test_values_that_would_overflow_the_wire_are_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="volatility-bps: expected a number <= 1000"):
        resolve(overrides={"volatility_bps": "100000"})
    with pytest.raises(ConfigError, match="quote-notional-usd: expected a number <= 1e\\+09"):
        resolve(overrides={"quote_notional_usd": "1e30"})
    with pytest.raises(ConfigError, match="volatility-bps: expected a number >= 0"):
        resolve(overrides={"volatility_bps": "-1"})


def test_a_layer_that_names_both_symbols_and_a_symbol_count_is_refused_even_under_a_flag(tmp_path: Path) -> None:
    path = tmp_path / "both.toml"
    path.write_text("symbols = ['BTCUSDT']\nsymbols_count = 3\n")
    with pytest.raises(ConfigError, match="give one of them, not both"):
        resolve(config_file=path, overrides={"symbols": "ETHUSDT"})


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"seed": "\u0663"}, "expected an integer"),  # an Arabic-script digit
        ({"max_inv": "1e400"}, "finite"),
        ({"tick_ms": "1e308"}, r"<= 8\.64e\+07"),
        ({"decision_deadline_ms": "1e308"}, r"<= 8\.64e\+07"),
        ({"freeze_utc_iso": "0001-01-01T00:00:00+01:00"}, "out of range"),
    ],
)
def test_values_no_run_could_use_are_refused_in_one_line(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve(overrides=overrides)


def test_a_config_file_python_cannot_even_parse_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("symbols = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        resolve(config_file=path)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"reduce_above_usd": "-1"}, "reduce-above-usd: expected a number >= 0"),
        ({"reduce_above_total_usd": "nan"}, "reduce-above-total-usd: expected a finite number"),
        ({"max_order_usd": "-0.5"}, "max-order-usd: expected a number >= 0"),
        ({"price_band_bps": "inf"}, "price-band-bps: expected a finite number"),
        ({"max_open_orders": "-1"}, "max-open-orders: expected an integer from 0 to 1000000"),
        ({"max_orders_per_sec": "2.5"}, "max-orders-per-sec: expected an integer"),
        ({"resume_after_ticks": "1e3"}, "resume-after-ticks: expected an integer"),
        ({"edge_window_fills": "0"}, "edge-window-fills: expected an integer from 1 to 100000"),
        ({"flatten_on_halt": "maybe"}, "flatten-on-halt: expected true or false"),
        ({"flatten_ticks": "0"}, "flatten-ticks: expected an integer from 1 to 1000000"),
    ],
)
def test_bad_trading_state_and_check_settings_are_one_line_naming_the_flag(
    overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve(overrides=overrides)


def test_every_trading_state_and_check_setting_reaches_risks_limits() -> None:
    from actors.assembly._system import risk_limits

    settings = {"reduce_above_usd": "1", "reduce_above_total_usd": "2", "max_order_usd": "3", "price_band_bps": "4",
                "max_open_orders": "5", "max_orders_per_sec": "6", "resume_after_ticks": "7", "edge_window_fills": "8",
                "flatten_on_halt": "true", "flatten_ticks": "9", "tick_ms": "250"}  # fmt: skip
    limits = risk_limits(resolve(overrides=settings))
    assert (limits.reduce_above_usd, limits.reduce_above_total_usd, limits.max_order_usd, limits.price_band_bps) == (
        1.0, 2.0, 3.0, 4.0,
    )  # fmt: skip
    assert (limits.max_open_orders, limits.max_orders_per_sec, limits.resume_after_ticks) == (5, 6, 7)
    assert (limits.edge_window_fills, limits.flatten_on_halt, limits.flatten_ticks, limits.tick_ms) == (8, True, 9, 250)


def test_the_readme_table_names_every_flag_and_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    faults = {f"{kind}_rate" for kind in ("place_error", "cancel_error", "timeout", "duplicate_fill", "out_of_order",
                                          "unknown_fill", "cancel_race")}  # fmt: skip
    for key in default_values():
        if key != "freeze_utc_iso":
            assert re.search(rf"`--{key.replace('_', '-')}[` ]", readme), key
        if key not in faults:  # the faults share one row: `<fault>_rate`, `MM_<FAULT>_RATE`
            assert f"`{key}`" in readme and f"`{env_name(key)}`" in readme, key


# ------------------------------------------------------------ --help: groups, defaults, units, placeholders

GROUP_TITLES = ["run", "market", "strategy", "risk and limits", "simulated venue and faults", "outputs", "journal",
                "cluster", "real venue"]  # fmt: skip
"""The sections the issue asked for, in the order a reader meets them."""


def _flag_helps() -> dict[str, str]:
    """Every flag's help text as ``--help`` shows it, by its first option string."""
    from actors.cli._run_shadow import build_parser

    return {a.option_strings[0]: a.help or "" for a in build_parser()._actions if a.option_strings}


def test_help_lists_every_flag_under_its_group_in_the_groups_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.assembly._config import KEYS
    from actors.cli._run_shadow import build_parser

    monkeypatch.setenv("COLUMNS", "300")  # no wrapping: a line is a flag
    text = build_parser().format_help()
    parts = re.split(r"^([a-z][a-z ]*):\n", text, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert list(sections) == GROUP_TITLES  # and no "options:" heap of the rest
    for key, spec in KEYS.items():
        if key != "freeze_utc_iso":  # MM_FREEZE_UTC_ISO, told in the epilog
            alias = r"(?:--[a-z-]+ [A-Z=]+, )?"  # --strategy-param KEY=VALUE, --strategy-params KEY=VALUE
            assert re.search(rf"^  {alias}--{key.replace('_', '-')}[ ,]", sections[spec.group], re.M), key
    assert "--flatten-on-halt, --no-flatten-on-halt" in sections["risk and limits"]
    assert "--journal-fsync, --no-journal-fsync" in sections["journal"]
    assert "MM_FREEZE_UTC_ISO" in text and "2025-01-01T00:00:00Z" in text


def test_help_shows_each_flags_default_with_its_unit() -> None:
    helps = _flag_helps()
    shown = {
        "--max-inv": "(default: 10000 USD)", "--spread-bps": "(default: 10 bps)", "--tick-ms": "(default: 100 ms)",
        "--shard-restart-timeout": "(default: 30 s)", "--iterations": "(default: 20 ticks)",
        "--symbols": "(default: BTCUSDT,ETHUSDT)", "--max-order-usd": "(default: off)", "--fill-rate": "(default: 0.3)",
        "--journal": "(default: none)", "--runtime": "(default: threads)", "--metrics-symbols": "(default: 10 symbols)",
        "--flatten-on-halt": "(default: off; --flatten-on-halt true|false also works)",
    }  # fmt: skip
    for flag, default in shown.items():
        assert helps[flag].endswith(default), (flag, helps[flag])
    assert all("(default: " in text for flag, text in helps.items() if flag not in ("-h", "--config", "--shadow"))


def test_help_takes_its_defaults_from_conf_default_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {**default_values(), "max_inv": ("conf/default.toml", 1234.5), "flatten_on_halt": ("x", True)}
    monkeypatch.setattr("actors.cli._run_shadow.default_values", lambda: changed)
    helps = _flag_helps()
    assert helps["--max-inv"].endswith("(default: 1234.5 USD)")
    assert "(default: on;" in helps["--flatten-on-halt"]


QUANTITIES = {"USD", "BPS", "MS", "SECONDS", "RATE", "POWER"}
"""Placeholders of a number that may have a fraction."""
NAMES = {"SYMBOLS", "RUNTIME", "PACE", "FORMAT", "MODEL", "POLICY", "LEVEL", "PATH", "FILE", "DIR", "ADDRESS", "NAME",
         "KEY=VALUE", "UNIT", "URL", "ASSET=AMOUNT"}  # fmt: skip
"""Placeholders of a name, a choice or a path."""


def _gives_a_number(parse: Callable[[object], object], text: str) -> bool:
    try:
        return isinstance(parse(text), (int, float))
    except ValueError:
        return False


def test_every_placeholder_says_what_its_parser_takes() -> None:
    from actors.assembly._config import KEYS
    from actors.cli._run_shadow import build_parser

    for action in build_parser()._actions:
        if action.dest not in KEYS:
            continue
        parse, metavar = KEYS[action.dest].parse, action.metavar
        if metavar is None:  # a switch: --flag, --no-flag
            assert action.option_strings[1].startswith("--no-") and parse("true") is True, action.dest
        elif metavar in ("N", "PORT"):  # a count: a fraction is refused
            assert parse("2") == 2, action.dest
            with pytest.raises(ValueError, match="integer"):
                parse("2.5")
        elif metavar in QUANTITIES:
            assert parse("0.5") == 0.5, action.dest
        else:
            assert metavar in NAMES and not _gives_a_number(parse, "2.5"), action.dest
    helps = {a.option_strings[0]: a.metavar for a in build_parser()._actions if a.option_strings}
    assert helps["--max-orders-per-sec"] == helps["--metrics-symbols"] == helps["--html-symbols"] == "N"  # were SEC,
    # SYMBOLS: counts


def _readme_groups() -> dict[str, dict[str, str]]:
    """The README's options tables: group title (lower case) -> key -> the default column's text."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Configuration") : readme.index("Bad input —")]
    groups: dict[str, dict[str, str]] = {}
    for title, table in re.findall(r"^\*\*([A-Za-z ]+)\*\*: [^\n]*\n\n((?:\|[^\n]*\n)+)", section, re.M):
        rows = groups.setdefault(title.lower(), {})
        for row in table.splitlines()[2:]:
            flags, key, _env, default = (cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:5])  # \| is text
            names = {flag.removeprefix("no-").replace("-", "_") for flag in re.findall(r"`--([a-z-]+)", flags)}
            rows.update(dict.fromkeys(names or set(re.findall(r"`([a-z_]+)`", key)), default))
    return groups


def test_the_readme_tables_group_the_options_as_help_does_with_the_defaults_of_conf_default_toml() -> None:
    from actors.assembly._config import KEYS

    groups = _readme_groups()
    assert list(groups) == GROUP_TITLES
    for key, spec in KEYS.items():
        assert key in groups[spec.group], (key, spec.group)
        shown, value = groups[spec.group][key].split(" ")[0], default_values()[key][1]
        if isinstance(value, bool):
            assert shown == str(value).lower(), key
        elif isinstance(value, (int, float)):
            assert float(shown) == value, key
        elif isinstance(value, list):
            assert shown == (",".join(value) or "[]"), key
        elif isinstance(value, dict):
            assert shown == "{}" and not value, key
        else:
            assert shown == (value or '""'), key


# ------------------------------------------------------------ path options: one line naming the problem


PATH_OPTIONS = {
    "--config": "input", "--instruments": "input", "--market": "market", "--journal": "directory",
    "--record": "directory", "--events": "output", "--metrics-file": "output", "--html": "output",
    "--keys-file": "input", "--venue-budget-file": "output",
}  # fmt: skip
"""Every option that takes a path, and what it wants there."""

_MISSING = {"input": "no such file", "market": "no such file or directory", "output": "no such directory"}
_NOT_A_FILE = {
    "input": "not a regular file (a device, a pipe?)", "market": "not a regular file (a pipe, a device?)",
    "output": "not a regular file (a device, a pipe?)", "directory": "not a directory (a device, a pipe?)",
}  # fmt: skip
_UNWRITABLE = r"(not writable|cannot write in)"


def _path_cases() -> list[tuple[str, str, str]]:
    """(option, path with {tmp} for the test's directory, the words the line must hold), for every option."""
    cases = []
    for flag, kind in PATH_OPTIONS.items():
        cases += [
            (flag, "{tmp}/" + "a" * 300, "name too long: a name in it has 300 bytes, the file system allows 255"),
            (flag, "/".join(["b" * 200] * 25), "path too long: 5024 bytes, the system allows 4095"),
            (flag, "{tmp}/file.csv/x", "'{tmp}/file.csv' is not a directory"),
            (flag, "{tmp}/fifo", re.escape(_NOT_A_FILE[kind])),
            (flag, "/dev/null", re.escape(_NOT_A_FILE[kind])),
        ]
        if kind != "directory":  # a missing journal directory is made, with its parents
            cases.append((flag, "{tmp}/missing/x", re.escape(_MISSING[kind])))
        if kind in ("input", "output"):  # a market directory is read whole; a journal directory is what it wants
            cases.append((flag, "{tmp}", "is a directory, expected a file"))
        if kind == "directory":
            cases.append((flag, "{tmp}/file.csv", "is a file, expected a directory"))
        if kind in ("output", "directory"):  # nothing can be created in /proc, not even by root
            cases.append((flag, "/proc/mm-test-output", _UNWRITABLE))
    return cases


def test_every_path_option_of_the_help_is_checked() -> None:
    from actors.cli._run_shadow import build_parser

    listed = {a.option_strings[0] for a in build_parser()._actions if a.metavar in ("FILE", "DIR", "PATH")}
    assert listed == set(PATH_OPTIONS)


@pytest.mark.parametrize(("flag", "path", "words"), _path_cases())
def test_a_bad_path_for_any_option_is_one_line_naming_the_option_and_what_is_wrong(
    flag: str, path: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file.csv").write_text("")
    os.mkfifo(tmp_path / "fifo")  # reading it would block for ever: refused before anything opens it
    given = path.replace("{tmp}", str(tmp_path))
    assert main(["--iterations", "2", flag, given], environ={}) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"run-shadow: error: {flag} {given[:60]}")
    assert re.search(words.replace("{tmp}", re.escape(str(tmp_path))), err), err
    assert len(err) < 400  # a path of 5,000 characters is shown by its two ends


@pytest.mark.parametrize("flag", list(PATH_OPTIONS))
def test_a_path_the_user_may_not_use_is_one_line(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / ("file" if PATH_OPTIONS[flag] in ("input", "market") else "new")
    # as for a user whom the mode bits refuse (root, running this suite, reads and writes whatever they say)
    monkeypatch.setattr("actors.assembly._config.os.access", lambda *_args: False)
    assert main([flag, str(target)], environ={}) == 2
    err = capsys.readouterr().err
    wanted = "not readable" if PATH_OPTIONS[flag] in ("input", "market") else "not writable"
    assert err.count("\n") == 1 and f"{flag} {target}: " in err and wanted in err, err
