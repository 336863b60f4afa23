"""Synthetic customer records that look like a real Chinese CRM export.

Names, regions, mobile numbers and 18-digit resident ID numbers whose check digit is valid
(GB 11643, ISO 7064 MOD 11-2), with gender and birth date consistent with the ID number.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from tierkit.ingest.identity.keys import id_check_digit

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯婷雪琳晨欣怡子涵梓轩睿博瑶嘉琪思雨佳慧"
)
REGIONS = [  # (province, area code of a district in it, weight)
    ("广东", "440106", 12),
    ("江苏", "320102", 9),
    ("山东", "370102", 8),
    ("浙江", "330106", 8),
    ("河南", "410105", 7),
    ("四川", "510107", 6),
    ("湖北", "420106", 5),
    ("北京", "110105", 5),
    ("上海", "310115", 5),
    ("福建", "350102", 4),
    ("湖南", "430104", 4),
    ("安徽", "340104", 4),
    ("河北", "130102", 4),
    ("陕西", "610113", 3),
    ("辽宁", "210102", 3),
    ("重庆", "500103", 3),
    ("天津", "120101", 2),
    ("云南", "530102", 2),
    ("广西", "450103", 2),
    ("江西", "360102", 2),
]
OCCUPATIONS = ["企业职员", "个体经营", "公务员", "教师", "医护人员", "工程师", "销售", "学生", "自由职业", "退休"]
EDUCATION = ["初中及以下", "高中/中专", "大专", "本科", "硕士", "博士"]
EDU_WEIGHTS = [0.12, 0.22, 0.25, 0.32, 0.08, 0.01]
MOBILE_PREFIXES = [
    "138",
    "139",
    "137",
    "136",
    "135",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
]


CAMPAIGNS = ["会员日满减", "以旧换新", "生日礼遇"]


def _identity(n: int, ages: np.ndarray) -> dict[str, pa.Array]:
    """The identity attributes the front line's tags read (集团关键人, 校园客户 ...), drawn from
    their own generator so that the rest of the shop stays as it was for a seed."""
    rng = np.random.default_rng(n * 7919 + 11)
    roll = rng.random((8, n))
    picks = rng.integers(0, len(CAMPAIGNS), size=(2, n))
    family = ["户主" if r < 0.15 else "成员" if r < 0.3 else None for r in roll[4]]
    joined = [CAMPAIGNS[p] if r < 0.1 else None for r, p in zip(roll[6], picks[0], strict=True)]
    eligible = [CAMPAIGNS[p] if r < 0.2 else None for r, p in zip(roll[7], picks[1], strict=True)]
    return {
        "集团关键人": pa.array(roll[0] < 0.02),
        "集团联系人": pa.array(roll[1] < 0.03),
        "校园客户": pa.array((ages < 24) & (roll[2] < 0.6)),
        "候鸟客户": pa.array((ages >= 55) & (roll[3] < 0.2)),
        "家庭角色": pa.array(family, pa.string()),
        "学生家长": pa.array((ages >= 35) & (ages <= 52) & (roll[5] < 0.3)),
        "已参加活动": pa.array(joined, pa.string()),
        "可参加活动": pa.array(eligible, pa.string()),
    }


REPS = [  # account managers (客户经理): two serve each region (and each serves two regions)
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄强",
    "周婷",
    "吴刚",
    "徐丽",
    "孙浩",
    "胡佳",
    "朱明",
    "高燕",
    "林峰",
    "何雪",
    "郭斌",
    "马超",
    "罗琳",
]


def make_customers(n: int, rng: np.random.Generator, end: dt.date, first_orders: np.ndarray) -> pa.Table:
    weights = np.array([w for _, _, w in REGIONS], dtype=float)
    region_idx = rng.choice(len(REGIONS), size=n, p=weights / weights.sum())
    ages = np.clip(rng.normal(38, 12, size=n), 18, 78).astype(int)
    birth_offsets = rng.integers(0, 365, size=n)
    male = rng.random(n) < 0.47
    ids, names, phones, emails, births, genders = [], [], [], [], [], []
    for i in range(n):
        birth = dt.date(end.year - int(ages[i]), 1, 1) + dt.timedelta(days=int(birth_offsets[i]))
        seq = int(rng.integers(0, 500)) * 2 + (1 if male[i] else 0)  # odd sequence digit = male
        body = f"{REGIONS[region_idx[i]][1]}{birth:%Y%m%d}{seq:03d}"
        ids.append(body + id_check_digit(body))
        given = "".join(rng.choice(GIVEN, size=int(rng.integers(1, 3))))
        names.append(SURNAMES[int(rng.integers(0, len(SURNAMES)))] + given)
        prefix = MOBILE_PREFIXES[int(rng.integers(0, len(MOBILE_PREFIXES)))]
        phones.append(f"{prefix}{int(rng.integers(0, 10**8)):08d}")
        domain = rng.choice(["qq.com", "163.com", "126.com", "sina.com"])
        emails.append(None if rng.random() < 0.35 else f"{int(rng.integers(10**5, 10**10))}@{domain}")
        births.append(birth)
        genders.append("男" if male[i] else "女")
    signup = [dt.date.fromordinal(int(d) - int(rng.integers(0, 400))) for d in first_orders]
    identity = _identity(n, ages)
    return pa.table(
        {
            **identity,
            "customer_id": [f"{i + 1:08d}" for i in range(n)],
            "name": names,
            "gender": genders,
            "birth_date": pa.array(births, pa.date32()),
            "occupation": rng.choice(OCCUPATIONS, size=n).tolist(),
            "education": rng.choice(EDUCATION, size=n, p=EDU_WEIGHTS).tolist(),
            "region": [REGIONS[i][0] for i in region_idx],
            "phone": phones,
            "email": emails,
            "id_number": ids,
            "signup_date": pa.array(signup, pa.date32()),
            "business_line": rng.choice(["门店", "电商"], size=n, p=[0.45, 0.55]).tolist(),
            # the owner serving the customer: one of the region's two (no draw: every other value
            # of a seed's shop stays as it was)
            "owner": [REPS[(2 * int(r) + i % 2) % len(REPS)] for i, r in enumerate(region_idx)],
        }
    )
