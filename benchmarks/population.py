"""A Chinese customer population with known truth, for linking at scale (issue 16, part 3).

People get a name (surnames by their real frequency, given names of one or two characters (80% two)
from a Zipf-weighted pool, so 张伟 repeats as it does in life), a unique mobile number, an
18-digit resident ID number with a valid check digit (GB 11643; some missing), an e-mail (often
missing), a birth date and an address; a few households share an address, some a phone.
20% of people have one or more further records (70% one, 20% two, 10% three), each with its own
mix of what goes wrong between two systems: the name in traditional characters, a homophone
typed by the pinyin input method (张伟 -> 张玮), a near syllable (林 lin -> 玲 ling), a dropped
character; a changed phone, transposed digits; missing ID number, e-mail, birth date or address;
another date format; a moved address.

The traditional forms are this module's own table (TRADITIONAL), written by hand for the
characters it draws, independent of the converter tierkit uses (OpenCC), so the benchmark tests
that converter rather than assuming it.

    python benchmarks/population.py 1000000 --out /tmp/pop   # customers.csv + truth.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tierkit.demo.people import MOBILE_PREFIXES  # the demo's mobile prefixes
from tierkit.ingest.identity.keys import id_check_digit

SURNAMES = (  # share of the population in percent (2020 census, rounded); the tail shares the rest
    "王7.1 李7.1 张6.7 刘5.4 陈4.5 杨3.1 黄2.2 赵2.1 吴2.0 周1.9 徐1.5 孙1.4 马1.3 朱1.3 胡1.2 郭1.1 何1.1 "
    "林1.0 高1.0 罗0.9 郑0.8 梁0.8 谢0.6 宋0.6 唐0.6 许0.6 韩0.5 冯0.5 邓0.5 曹0.5 彭0.5 曾0.5 肖0.5 "
    "田0.4 董0.4 袁0.4 潘0.4 于0.4 蒋0.4 蔡0.4 余0.4 杜0.4 叶0.4 程0.3 苏0.3 魏0.3 吕0.3 丁0.3 任0.3 "
    "沈0.3 姚0.3 卢0.3 姜0.3 崔0.3 钟0.3 谭0.3 陆0.3 汪0.3 范0.3 金0.3 石0.3 廖0.3 贾0.2 夏0.2 韦0.2 "
    "付0.2 方0.2 白0.2 邹0.2 孟0.2 熊0.2 秦0.2 邱0.2 江0.2 尹0.2 薛0.2 闫0.2 段0.2 雷0.2 侯0.2 龙0.2 "
    "史0.2 陶0.2 黎0.2 贺0.2 顾0.2 毛0.2 郝0.2 龚0.2 邵0.2 万0.2 钱0.2 严0.2 覃0.1 武0.1 戴0.1 莫0.1 "
    "孔0.1 向0.1 汤0.1 欧阳0.05 司马0.02 诸葛0.01 上官0.01"
)
GIVEN = (  # given-name characters, most common first (drawn with Zipf weights)
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯婷雪琳晨欣怡子涵梓"
    "轩睿博瑶嘉琪思雨佳慧龙凤东云飞宝贵荣庆义胜发乐书学晓银钢铁岚莲琼颖汉阳宁远达鸿进玮炜维骅钧"
    "婧靖洁纳侠韬铭鸣虹洪玲凌灵燕雁晖惠苹亭仪宜毅艺忆逸新鑫馨家昊皓豪羽语瑜辰琛宸紫姿寒晗翰瀚萱"
    "宣璇波柏伯琦淇棋祺奇启斯丝遥尧瑞锐恺楷朋彬宾蕾雷蔷港永咏泳扬潮修莹盈瑛营蓝健剑俭帼雯闻小"
    "筱冬春纯兵珍正成星民珉丹亮海金林泽峰俊鹤梅菊松柳志德福全生根"
)
HOMOPHONES = (  # characters the pinyin input method offers for the same syllable
    "伟玮炜维",
    "丽莉",
    "华骅",
    "军钧",
    "静靖婧",
    "杰洁",
    "娜纳",
    "霞侠",
    "涛韬",
    "明铭鸣",
    "红虹洪鸿",
    "玲凌灵",
    "燕艳雁",
    "辉晖惠慧",
    "平萍苹",
    "婷亭",
    "怡仪宜毅艺忆逸",
    "欣新鑫馨",
    "佳嘉家",
    "浩昊皓豪",
    "宇雨羽语瑜玉",
    "晨辰琛宸",
    "子梓紫姿",
    "涵寒晗",
    "翰瀚",
    "轩萱宣璇",
    "博波柏伯",
    "琪琦淇棋祺奇启",
    "思斯丝",
    "瑶遥尧",
    "睿瑞锐",
    "凯恺楷",
    "鹏朋",
    "斌彬宾",
    "磊蕾雷",
    "强蔷",
    "刚钢港",
    "勇永咏泳",
    "洋阳扬",
    "英莹盈瑛营",
    "兰岚蓝",
    "建健剑俭",
    "国帼",
    "文雯闻",
    "晓小筱",
    "东冬",
    "春纯",
)
NEAR_SYLLABLES = ("林玲", "斌兵", "珍正", "晨成", "新星", "敏明", "民明", "琳玲", "心星", "金京")  # -n / -ng
TRADITIONAL = dict(  # simplified -> traditional, for the characters drawn above that have one
    pair.split(":")
    for pair in [
        "张:張",
        "刘:劉",
        "陈:陳",
        "杨:楊",
        "黄:黃",
        "赵:趙",
        "吴:吳",
        "孙:孫",
        "马:馬",
        "罗:羅",
        "郑:鄭",
        "谢:謝",
        "许:許",
        "韩:韓",
        "冯:馮",
        "邓:鄧",
        "肖:蕭",
        "叶:葉",
        "苏:蘇",
        "吕:呂",
        "钟:鍾",
        "卢:盧",
        "陆:陸",
        "贾:賈",
        "邹:鄒",
        "龚:龔",
        "顾:顧",
        "贺:賀",
        "钱:錢",
        "汤:湯",
        "严:嚴",
        "万:萬",
        "龙:龍",
        "闫:閆",
        "韦:韋",
        "蒋:蔣",
        "谭:譚",
        "潘:潘",
        "欧:歐",
        "诸:諸",
        "马:馬",
        "伟:偉",
        "丽:麗",
        "华:華",
        "军:軍",
        "国:國",
        "强:強",
        "红:紅",
        "静:靜",
        "杰:傑",
        "涛:濤",
        "刚:剛",
        "兰:蘭",
        "鹏:鵬",
        "辉:輝",
        "凯:凱",
        "轩:軒",
        "瑶:瑤",
        "龙:龍",
        "凤:鳳",
        "东:東",
        "云:雲",
        "飞:飛",
        "宝:寶",
        "贵:貴",
        "荣:榮",
        "庆:慶",
        "义:義",
        "胜:勝",
        "发:發",
        "乐:樂",
        "书:書",
        "学:學",
        "晓:曉",
        "银:銀",
        "钢:鋼",
        "铁:鐵",
        "岚:嵐",
        "莲:蓮",
        "琼:瓊",
        "颖:穎",
        "艳:艷",
        "汉:漢",
        "阳:陽",
        "宁:寧",
        "远:遠",
        "达:達",
        "鸿:鴻",
        "进:進",
        "玮:瑋",
        "炜:煒",
        "维:維",
        "骅:驊",
        "钧:鈞",
        "洁:潔",
        "纳:納",
        "侠:俠",
        "韬:韜",
        "铭:銘",
        "鸣:鳴",
        "灵:靈",
        "晖:暉",
        "苹:蘋",
        "仪:儀",
        "艺:藝",
        "忆:憶",
        "语:語",
        "丝:絲",
        "遥:遙",
        "尧:堯",
        "锐:銳",
        "恺:愷",
        "宾:賓",
        "蔷:薔",
        "咏:詠",
        "扬:揚",
        "莹:瑩",
        "营:營",
        "蓝:藍",
        "剑:劍",
        "俭:儉",
        "帼:幗",
        "闻:聞",
        "纯:純",
        "鹤:鶴",
        "峰:峰",
        "泽:澤",
        "志:誌",
        "启:啟",
    ]
)
CITIES = [
    "北京市朝阳区",
    "北京市海淀区",
    "上海市浦东新区",
    "上海市徐汇区",
    "广州市天河区",
    "广州市越秀区",
    "深圳市南山区",
    "深圳市福田区",
    "杭州市西湖区",
    "南京市鼓楼区",
    "苏州市姑苏区",
    "成都市武侯区",
    "重庆市渝中区",
    "武汉市洪山区",
    "西安市雁塔区",
    "郑州市金水区",
    "长沙市岳麓区",
    "济南市历下区",
    "青岛市市南区",
    "天津市和平区",
    "沈阳市和平区",
    "合肥市蜀山区",
    "福州市鼓楼区",
    "厦门市思明区",
    "昆明市五华区",
    "南宁市青秀区",
    "南昌市东湖区",
    "石家庄市长安区",
    "太原市小店区",
    "哈尔滨市南岗区",
]
STREETS = [
    a + b
    for a in [
        "人民",
        "解放",
        "中山",
        "建设",
        "和平",
        "新华",
        "胜利",
        "文化",
        "长江",
        "黄河",
        "东风",
        "光明",
        "幸福",
        "青年",
        "滨江",
    ]
    for b in ("路", "大道", "街", "东路", "西路", "南路", "北路")
]
PROVINCE_CODES = ("11", "31", "44", "33", "32", "51", "50", "42", "61", "41", "43", "37", "12", "21", "34", "35")
HEADER = ("客户编号", "姓名", "手机号", "身份证号", "邮箱", "出生日期", "城市", "地址")
CHANGES = (
    "traditional",
    "homophone",
    "near_syllable",
    "dropped_char",
    "phone_changed",
    "phone_transposed",
    "id_missing",
    "id_transposed",
    "email_missing",
    "birth_missing",
    "birth_format",
    "moved",
    "address_missing",
)


@dataclass
class Population:
    """Records (rows under HEADER) and the truth: record id -> person, and what changed."""

    rows: list[tuple[str | None, ...]]
    person: dict[str, int]
    changes: dict[str, str]  # duplicate record id -> its changes, ';'-separated

    def true_pairs(self) -> int:
        return sum(k * (k - 1) // 2 for k in Counter(self.person.values()).values())

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        records, truth = folder / "customers.csv", folder / "truth.csv"
        with records.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(self.rows)
        with truth.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("customer_id", "person", "changes"))
            writer.writerows((rid, p, self.changes.get(rid, "")) for rid, p in self.person.items())
        return records, truth


def _split_surname(item: str) -> tuple[str, float]:
    name = item.rstrip("0123456789.")
    return name, float(item[len(name) :])


class _Draw:
    """The random choices, vectorised where it matters for a million records."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        pairs = [_split_surname(item) for item in SURNAMES.split()]
        weights = np.array([w for _, w in pairs])
        self.surnames, self.surname_p = [n for n, _ in pairs], weights / weights.sum()
        zipf = 1.0 / np.arange(1, len(GIVEN) + 1) ** 0.8
        self.given_p = zipf / zipf.sum()
        self.homophone = {c: group for group in HOMOPHONES for c in group}
        self.near = {a: b for pair in NEAR_SYLLABLES for a, b in (pair, pair[::-1])}

    def names(self, n: int) -> list[str]:
        surname = self.rng.choice(len(self.surnames), size=n, p=self.surname_p)
        first = self.rng.choice(len(GIVEN), size=n, p=self.given_p)
        second = self.rng.choice(len(GIVEN), size=n, p=self.given_p)
        two = self.rng.random(n) < 0.8
        return [
            self.surnames[s] + GIVEN[a] + (GIVEN[b] if t else "")
            for s, a, b, t in zip(surname.tolist(), first.tolist(), second.tolist(), two.tolist(), strict=True)
        ]


def _id_number(province: str, rng: np.random.Generator, born: dt.date) -> str:
    district = f"{province}{int(rng.integers(1, 20)):02d}{int(rng.integers(1, 30)):02d}"
    body = f"{district}{born:%Y%m%d}{int(rng.integers(0, 1000)):03d}"
    return body + id_check_digit(body)


def _transpose(text: str, rng: np.random.Generator, start: int = 3) -> str:
    """Two neighbouring digits swapped (a typing slip), somewhere after `start`."""
    for _ in range(10):
        i = int(rng.integers(start, len(text) - 1))
        if text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def _date_text(born: dt.date, style: int) -> str:
    return (
        f"{born:%Y-%m-%d}",
        f"{born.year}/{born.month}/{born.day}",
        f"{born.year}年{born.month}月{born.day}日",
        f"{born:%Y%m%d}",
    )[style]


def _retype_name(name: str, kind: str, draw: _Draw) -> str | None:
    """The name as another system has it, or None when this kind of change cannot apply."""
    rng = draw.rng
    surname_len = 2 if name[:2] in draw.surnames else 1
    given = range(surname_len, len(name))
    if kind == "traditional":
        text = "".join(TRADITIONAL.get(c, c) for c in name)
        return text if text != name else None
    if kind in ("homophone", "near_syllable"):
        table = draw.homophone if kind == "homophone" else draw.near
        spots = [i for i in given if name[i] in table]
        if not spots:
            return None
        i = spots[int(rng.integers(0, len(spots)))]
        options = [c for c in table[name[i]] if c != name[i]]
        return name[:i] + options[int(rng.integers(0, len(options)))] + name[i + 1 :]
    if kind == "dropped_char":
        if len(name) - surname_len < 2:
            return None
        i = given[int(rng.integers(0, len(given)))]
        return name[:i] + name[i + 1 :]
    raise ValueError(kind)


def generate(records: int, seed: int = 16) -> Population:
    """About `records` records: persons, 20% of them with 1-3 further records."""
    draw = _Draw(seed)
    rng = draw.rng
    persons = int(records / 1.28)  # 20% x (0.7 x 1 + 0.2 x 2 + 0.1 x 3) = 0.28 further records each
    names = draw.names(persons)
    phones = rng.choice(10**8, size=persons, replace=False)
    prefixes = rng.integers(0, len(MOBILE_PREFIXES), size=persons)
    ages = rng.integers(18 * 365, 76 * 365, size=persons)
    today = dt.date(2026, 12, 1).toordinal()
    rows: list[tuple[str | None, ...]] = []
    person: dict[str, int] = {}
    changes: dict[str, str] = {}
    base: list[list[str | None]] = []
    for p in range(persons):
        born = dt.date.fromordinal(today - int(ages[p]))
        city = CITIES[int(rng.integers(0, len(CITIES)))]
        street = STREETS[int(rng.integers(0, len(STREETS)))]
        building, room = int(rng.integers(1, 30)), int(rng.integers(1, 30)) * 100 + int(rng.integers(1, 9))
        address = f"{street}{int(rng.integers(1, 999))}号{building}栋{room}室"
        phone = f"{MOBILE_PREFIXES[prefixes[p]]}{int(phones[p]):08d}"
        if p and rng.random() < 0.05:  # a household: the address of the person before, sometimes the phone
            city, address = base[-1][6], base[-1][7]
            if rng.random() < 0.3:
                phone = base[-1][2] or phone
        roll = rng.random(4)
        id_number = None if roll[0] < 0.15 else _id_number(PROVINCE_CODES[int(rng.integers(0, 16))], rng, born)
        email = (
            None if roll[1] < 0.5 else f"{int(rng.integers(10**5, 10**10))}@{('qq.com', '163.com', '126.com')[p % 3]}"
        )
        birth = None if roll[2] < 0.1 else _date_text(born, 0)
        base.append([f"C{p:07d}", names[p], phone, id_number, email, birth, city, None if roll[3] < 0.1 else address])
        base[-1].append(born.isoformat())  # kept for re-typing, not written
    extra = rng.random(persons)
    counts = np.where(extra < 0.2 * 0.7, 1, np.where(extra < 0.2 * 0.9, 2, np.where(extra < 0.2, 3, 0)))
    order = itertools.count(persons)
    for p, original in enumerate(base):
        rid = original[0]
        person[rid] = p  # type: ignore[index]
        rows.append(tuple(original[:8]))
        for _ in range(int(counts[p])):
            record, done = _duplicate(original, draw)
            dup_id = f"C{next(order):07d}"
            record[0] = dup_id
            person[dup_id] = p
            changes[dup_id] = ";".join(done)
            rows.append(tuple(record[:8]))
    shuffled = rng.permutation(len(rows))
    return Population([rows[i] for i in shuffled.tolist()], person, changes)


def _duplicate(original: list[str | None], draw: _Draw) -> tuple[list[str | None], list[str]]:
    """Another system's record of the same person: two or three changes, each at its own rate."""
    rng = draw.rng
    record = list(original)
    done: list[str] = []
    born = dt.date.fromisoformat(str(original[8]))
    name_change = rng.choice(
        ["traditional", "homophone", "near_syllable", "dropped_char", ""], p=[0.25, 0.15, 0.05, 0.05, 0.5]
    )
    if name_change:
        retyped = _retype_name(str(original[1]), str(name_change), draw)
        if retyped is not None:
            record[1] = retyped
            done.append(str(name_change))
    roll = rng.random(10)
    if roll[0] < 0.4:
        record[2] = f"{MOBILE_PREFIXES[int(rng.integers(0, len(MOBILE_PREFIXES)))]}{int(rng.integers(0, 10**8)):08d}"
        done.append("phone_changed")
    elif roll[0] < 0.45 and record[2]:
        record[2] = _transpose(str(record[2]), rng)
        done.append("phone_transposed")
    if record[3] and roll[1] < 0.3:
        record[3] = None
        done.append("id_missing")
    elif record[3] and roll[1] < 0.35:
        record[3] = _transpose(str(record[3]), rng, start=6)
        done.append("id_transposed")
    if record[4] and roll[2] < 0.3:
        record[4] = None
        done.append("email_missing")
    if roll[3] < 0.15:
        record[5] = None
        done.append("birth_missing")
    elif roll[3] < 0.45:
        record[5] = _date_text(born, int(rng.integers(1, 4)))
        done.append("birth_format")
    if roll[4] < 0.2:
        record[6] = CITIES[int(rng.integers(0, len(CITIES)))]
        record[7] = f"{STREETS[int(rng.integers(0, len(STREETS)))]}{int(rng.integers(1, 999))}号"
        done.append("moved")
    elif roll[4] < 0.4 and record[7]:
        record[7] = None
        done.append("address_missing")
    return record, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=int, help="about how many records")
    parser.add_argument("--out", type=Path, required=True, help="folder for customers.csv and truth.csv")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    population = generate(args.records, args.seed)
    records, truth = population.write(args.out)
    print(
        f"{len(population.rows):,} records, {len(set(population.person.values())):,} persons, "
        f"{population.true_pairs():,} true pairs -> {records}, {truth}"
    )


if __name__ == "__main__":
    main()
