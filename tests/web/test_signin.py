"""Sign-in, sessions and CSRF of the workbench, over HTTP (the browser tests repeat the main path)."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from tests.web.conftest import Shop, app_for, csrf_of, sign_in


def test_pages_need_a_session_and_come_back_after_sign_in(shop: Shop) -> None:
    with TestClient(app_for(shop.root)) as client:
        first = client.get("/app/customers?tier=vip", follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"] == "/app/login?next=%2Fapp%2Fcustomers%3Ftier%3Dvip"
        assert client.get("/", follow_redirects=False).headers["location"] == "/app/"
        done = sign_in(client, shop.keys["analyst"], "/app/customers?tier=vip")
        assert done.status_code == 303 and done.headers["location"] == "/app/customers?tier=vip"
        cookie = done.headers["set-cookie"]
        assert "tierkit_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure
        assert client.get("/app/").status_code == 200


def test_a_wrong_key_is_refused_and_an_outside_next_is_ignored(shop: Shop) -> None:
    with TestClient(app_for(shop.root)) as client:
        bad = sign_in(client, "tk_not-a-key")
        assert bad.status_code == 401 and "密钥无效或已停用" in bad.text
        done = sign_in(client, shop.keys["agent"], "//evil.example/app")
        assert done.headers["location"] == "/app/customers"  # an agent's start page, never another host


def test_a_sign_in_without_the_form_token_is_refused(shop: Shop) -> None:
    with TestClient(app_for(shop.root)) as client:
        client.get("/app/login")
        refused = client.post("/app/login", data={"key": shop.keys["admin"], "csrf": "forged"}, follow_redirects=False)
        assert refused.status_code == 403
        assert "tierkit_session" not in refused.headers.get("set-cookie", "")


def test_sign_out_needs_the_csrf_token_and_ends_the_session(shop: Shop) -> None:
    with TestClient(app_for(shop.root)) as client:
        sign_in(client, shop.keys["admin"])
        page = client.get("/app/")
        assert client.post("/app/logout", data={}, follow_redirects=False).status_code == 403
        assert client.get("/app/").status_code == 200  # still signed in
        token = client.cookies.get("tierkit_session")
        out = client.post("/app/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/app/login"
        client.cookies.set("tierkit_session", token)  # the old cookie, replayed
        assert client.get("/app/", follow_redirects=False).status_code == 303


def test_an_idle_session_expires(shop: Shop) -> None:
    with TestClient(app_for(shop.root, session_idle=1.0)) as client:
        sign_in(client, shop.keys["analyst"])
        assert client.get("/app/", follow_redirects=False).status_code == 200
        time.sleep(1.5)
        assert client.get("/app/", follow_redirects=False).status_code == 303


def test_an_agent_starts_at_the_customers_and_may_not_see_the_runs(shop: Shop) -> None:
    with TestClient(app_for(shop.root)) as client:
        sign_in(client, shop.keys["agent"])
        assert client.get("/app/", follow_redirects=False).headers["location"] == "/app/customers"
        refused = client.get("/app/runs")
        assert refused.status_code == 403 and "您的角色 (一线坐席) 不能查看此页面" in refused.text


def test_the_language_switches_per_session_and_is_remembered(shop: Shop) -> None:
    with TestClient(app_for(shop.root)) as client:
        sign_in(client, shop.keys["analyst"])
        zh = client.get("/app/")
        assert re.search(r'<html lang="zh-CN">', zh.text) and "客户概览" in zh.text
        en = client.get("/app/?lang=en")
        assert '<html lang="en">' in en.text and "Overview" in en.text
        assert '<html lang="en">' in client.get("/app/").text  # remembered on the next page
