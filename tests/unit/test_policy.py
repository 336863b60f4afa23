from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tierkit.errors import PolicyError
from tierkit.policy.loader import load_policy, parse_policy, preset_names

PRESETS_DIR = Path(__file__).parents[2] / "tierkit" / "policy" / "presets"

BASE = """name: t
metrics:
  spend_12m: {sum: amount, window: 12M}
tiers:
  - {name: vip, when: "spend_12m > 100"}
  - {name: rest, else: true}
"""


def test_every_preset_loads_and_has_a_stable_hash() -> None:
    assert set(preset_names()) >= {"retail", "abc", "pyramid", "telecom-stars", "pharma-grid", "rfm"}
    for name in preset_names():
        first, second = load_policy(name), load_policy(name)
        assert first.hash == second.hash and len(first.hash) == 64


def test_hash_ignores_comments_but_not_thresholds() -> None:
    a = parse_policy(BASE, "a.yaml")
    b = parse_policy("# a comment\n" + BASE, "b.yaml")
    c = parse_policy(BASE.replace("> 100", "> 101"), "c.yaml")
    assert a.hash == b.hash != c.hash


def test_unknown_field_names_file_line_and_suggestion() -> None:
    text = BASE.replace("window: 12M", "windw: 12M")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    assert "p.yaml:3: metrics.spend_12m.windw: unknown field 'windw' (did you mean 'window'?)" in str(info.value)


def test_bad_window_and_bad_score_type() -> None:
    with pytest.raises(PolicyError, match=r"p.yaml:3: metrics.spend_12m.window: .*not like 90D"):
        parse_policy(BASE.replace("12M", "12 months"), "p.yaml")
    text = BASE + "scores:\n  s: {type: abx, by: spend_12m}\n"
    with pytest.raises(PolicyError, match=r"p.yaml:8: .*unknown score type 'abx' \(did you mean 'abc'\?\)"):
        parse_policy(text, "p.yaml")


def test_tiers_need_an_else_last() -> None:
    with pytest.raises(PolicyError, match="must be else: true"):
        parse_policy(BASE.replace("{name: rest, else: true}", "{name: rest, when: 'true'}"), "p.yaml")


def test_missing_file_and_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "none.yaml")
    with pytest.raises(PolicyError, match="did you mean 'retail'"):
        load_policy("retial")


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(PolicyError, match=r"p.yaml:2: not valid YAML: mapping values"):
        parse_policy("name: x\n  bad: indent\n", "p.yaml")


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("name", sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
def test_every_preset_says_what_the_front_line_reads_in_zh_and_en(name: str) -> None:
    """Tags, their actions, service actions and entitlements: a Chinese text (with Chinese in it)
    and an English one (without), read from the preset file as written."""
    raw = yaml.safe_load((PRESETS_DIR / f"{name}.yaml").read_text("utf-8"))
    texts: list[tuple[str, object]] = []
    for tag in raw.get("tags") or []:
        texts += [(f"tags.{tag['name']}.label", tag.get("label")), (f"tags.{tag['name']}.action", tag.get("action"))]
    for tier, service in (raw.get("service") or {}).items():
        texts += [(f"service.{tier}.actions", action) for action in service.get("actions") or []]
        for entitlement in service.get("entitlements") or []:
            label = ((raw.get("entitlements") or {}).get(entitlement) or {}).get("label")
            texts.append((f"entitlements.{entitlement}", label))
    wrong = [
        where
        for where, text in texts
        if not isinstance(text, dict)
        or not CJK.search(str(text.get("zh") or ""))
        or not text.get("en")
        or CJK.search(str(text["en"]))
    ]
    assert not wrong


LEGACY = """name: legacy
metrics:
  spend_12m: {sum: amount, window: 12M}
  complaints_90d: {count: interactions, where: "kind == 'complaint'", window: 90D}
tiers:
  - {name: vip, label: {zh: 贵宾, en: VIP}, when: "spend_12m > 100000"}
  - {name: rest, else: true}
tags:
  - {name: serial_complainer, label: 投诉专业户, when: "complaints_90d >= 3", action: "Route to a senior agent"}
service:
  vip: {entitlements: [account_manager], contacts_per_month: [2, 4], response_time: 1h, actions: ["Call monthly"]}
"""


def test_a_policy_written_before_labelled_actions_keeps_its_version() -> None:
    """The hash tierkit printed for this file before actions had languages and before tag groups,
    attributes and the entitlement catalogue existed (commit 4d226ba): adding fields to the
    policy language must not change an existing policy's version."""
    before = "d37e21b406c5748dfce4a06fa06dc56f46314c5ab7b018cf62cbc63a27acc056"
    assert parse_policy(LEGACY, "legacy.yaml").hash == before


def test_a_cadence_whose_minimum_is_above_its_maximum_is_refused_with_its_brackets_shown(tmp_path: Path) -> None:
    """The CLI prints the message as text: `[min, max]` is not a rich markup tag that vanishes."""
    import subprocess
    import sys

    from tierkit.errors import PolicyError
    from tierkit.policy.loader import parse_policy, preset_text

    text = preset_text("retail").replace("contacts_per_month: [2, 4]", "contacts_per_month: [4, 2]")
    with pytest.raises(PolicyError, match=r"contacts_per_month \[4, 2\]: give \[min, max\] with 0 <= min <= max"):
        parse_policy(text, "policy.yaml")
    (tmp_path / "policy.yaml").write_text(text, "utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from tierkit.cli.app import main; main()", "check", str(tmp_path / "policy.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "give [min, max] with" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("cadence", "zh", "en"),
    [  # as the seeds' service tables say it (A类每月4-6次, 不定期联系): worked by hand
        ((0, 0), "不定期联系（无固定频率）", "No scheduled contact"),
        ((0, 1), "每月至多 1 次", "up to 1 a month"),
        ((4, 4), "每月 4 次", "4 a month"),
        ((4, 6), "每月 4–6 次", "4–6 a month"),
        (None, None, None),
    ],
)
def test_a_cadence_reads_as_words(cadence: tuple[int, int] | None, zh: str | None, en: str | None) -> None:
    from tierkit.policy.labels import cadence_text

    assert (cadence_text(cadence, "zh"), cadence_text(cadence, "en")) == (zh, en)
