"""Staff sign-in: hashed passwords, the session cookie's flags, CSRF on every form."""

from __future__ import annotations

from atsbridge.console.users import ConsoleUserService, hash_password, verify_password
from consoleworld import PASSWORD, csrf_of, sign_in
from fastapi.testclient import TestClient
from httpworld import World


def test_pages_redirect_to_sign_in_without_a_session(anon: TestClient) -> None:
    response = anon.get("/console/t/acme/connections", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/t/acme/connections"


def test_sign_in_sets_an_httponly_samesite_cookie_and_lands_on_next(anon: TestClient) -> None:
    form = anon.get("/console/login?next=/console/t/acme/connections")
    assert 'for="username"' in form.text and 'for="password"' in form.text
    response = anon.post(
        "/console/login",
        data={
            "username": "staff",
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "/console/t/acme/connections",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/t/acme/connections"
    cookie = response.headers["set-cookie"]
    assert "atsb_console=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    page = anon.get("/console/t/acme/connections")
    assert page.status_code == 200 and "Connections of acme" in page.text


def test_next_never_leaves_the_console(anon: TestClient) -> None:
    form = anon.get("/console/login")
    response = anon.post(
        "/console/login",
        data={
            "username": "staff",
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/"


def test_a_wrong_password_is_refused_with_a_clear_message(anon: TestClient) -> None:
    form = anon.get("/console/login")
    response = anon.post(
        "/console/login",
        data={"username": "staff", "password": "wrong password", "csrf": csrf_of(form.text)},
    )
    assert response.status_code == 401
    assert "the username or the password is wrong" in response.text
    assert "atsb_console=" not in response.headers.get("set-cookie", "")
    unknown = anon.post(
        "/console/login",
        data={"username": "nobody", "password": PASSWORD, "csrf": csrf_of(form.text)},
    )
    assert unknown.status_code == 401


def test_sign_in_without_its_csrf_token_is_refused(anon: TestClient) -> None:
    anon.get("/console/login")
    response = anon.post(
        "/console/login", data={"username": "staff", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403
    assert "csrf:" in response.text
    assert "text/html" in response.headers["content-type"]


def test_missing_field_is_named(anon: TestClient) -> None:
    form = anon.get("/console/login")
    response = anon.post(
        "/console/login", data={"username": "staff", "password": "", "csrf": csrf_of(form.text)}
    )
    assert response.status_code == 422
    assert "password: is required" in response.text


def test_sign_out_needs_csrf_and_ends_the_session(staff: TestClient) -> None:
    refused = staff.post("/console/logout", data={"csrf": "nope"})
    assert refused.status_code == 403
    assert staff.get("/console/t/acme/connections").status_code == 200
    out = staff.post(
        "/console/logout", data={"csrf": staff.headers["x-test-csrf"]}, follow_redirects=False
    )
    assert out.status_code == 303
    again = staff.get("/console/t/acme/connections", follow_redirects=False)
    assert again.status_code == 303


def test_deleting_a_user_ends_their_sessions(world: World, staff: TestClient) -> None:
    ConsoleUserService(world.app).delete("staff")
    assert staff.get("/console/", follow_redirects=False).status_code == 303


def test_passwords_are_stored_as_scrypt_hashes(world: World) -> None:
    stored = hash_password("a long password")
    assert stored.startswith("scrypt$16384$8$1$") and "a long password" not in stored
    assert verify_password("a long password", stored)
    assert not verify_password("another password", stored)
    assert not verify_password("a long password", "md5$abc")
    assert ConsoleUserService(world.app).authenticate("staff", PASSWORD) is not None


def test_staff_home_lists_tenants(staff: TestClient) -> None:
    page = staff.get("/console/")
    assert 'href="/console/t/acme/connections"' in page.text
    assert 'href="/console/t/globex/connections"' in page.text
    opened = staff.get("/console/open?tenant=newco", follow_redirects=False)
    assert opened.headers["location"] == "/console/t/newco/connections"
    bad = staff.get("/console/open?tenant=bad%20key")
    assert bad.status_code == 422 and "is not a valid tenant key" in bad.text


def test_pages_carry_a_csp_with_the_configured_frame_ancestors(staff: TestClient) -> None:
    page = staff.get("/console/t/acme/connections")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors https://product.example" in csp
    assert "script-src 'self'" in csp
    assert page.headers["cache-control"] == "no-store"
    asset = staff.get("/console/static/htmx-2.0.11.min.js")
    assert asset.status_code == 200 and "htmx" in asset.text


def test_a_second_sign_in_page_does_not_reuse_csrf(anon: TestClient) -> None:
    first = csrf_of(anon.get("/console/login").text)
    second = csrf_of(anon.get("/console/login").text)
    assert first != second
    token = sign_in(anon)
    assert token not in (first, second)


def test_frame_ancestors_cannot_add_directives(world: World) -> None:
    import pytest
    from atsbridge.errors import BadInput
    from atsbridge.http.app import create_app

    with pytest.raises(BadInput, match="ATSBRIDGE_CONSOLE_FRAME_ANCESTORS"):
        create_app(world.app, console_frame_ancestors="https://a.example; script-src *")
