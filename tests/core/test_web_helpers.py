"""Charts drawn on the server and login throttling shared through Redis."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest

from core.testing import run_cli
from core.web import charts
from core.web.ratelimit import LoginThrottle, TooManyAttempts

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_a_bar_chart_draws_one_bar_per_value_with_escaped_labels():
    svg = str(charts.bar(["Cash", "<b>Bank</b>"], [Decimal("10.50"), 21], title="Balances"))
    assert svg.count("<rect") == 2
    assert "&lt;b&gt;Bank&lt;/b&gt;" in svg and "<b>" not in svg
    assert 'aria-label="Balances"' in svg


def test_the_tallest_bar_is_the_largest_value():
    svg = str(charts.bar(["a", "b"], [1, 4], height=220))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert heights[1] == max(heights) and heights[1] == pytest.approx(4 * heights[0])


def test_a_donut_shows_each_share_in_its_legend():
    svg = str(charts.donut(["People", "Organizations"], [3, 1]))
    assert "People (75%)" in svg and "Organizations (25%)" in svg


def test_a_line_chart_has_a_point_per_value():
    svg = str(charts.line(["Jan", "Feb", "Mar"], [1, 3, 2]))
    assert svg.count("<circle") == 3 and "<polyline" in svg


def test_login_throttle_counts_per_account_across_workers_through_redis():
    account = f"{uuid.uuid4().hex}@example.com"
    # Two throttles are two worker processes sharing one Redis.
    first = LoginThrottle(REDIS_URL, "3 per minute")
    second = LoginThrottle(REDIS_URL, "3 per minute")
    first.check("10.0.0.1", account)
    second.check("10.0.0.2", account)
    first.check("10.0.0.3", account)
    with pytest.raises(TooManyAttempts) as refused:
        second.check("10.0.0.4", account)
    assert 1 <= refused.value.retry_after <= 60
    first.reset_account(account)


def test_login_throttle_counts_per_ip_too():
    ip = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    throttle = LoginThrottle("memory://", "2 per minute")
    throttle.check(ip, "a@example.com")
    throttle.check(ip, "b@example.com")
    with pytest.raises(TooManyAttempts):
        throttle.check(ip, "c@example.com")


def test_the_cli_locks_the_books_and_prints_the_trial_balance(runner, session):
    from core.services import ledger

    ledger.create_account(session, code="1000", name="Cash", type="asset")
    ledger.create_account(session, code="3000", name="Equity", type="equity")
    ledger.create_journal(session, code="GJ", name="General")
    ledger.post_entry(
        session,
        {
            "journal": "GJ",
            "date": "2026-01-10",
            "lines": [{"account": "1000", "debit": "70.00"}, {"account": "3000", "credit": "70.00"}],
        },
    )
    session.commit()
    result = run_cli(runner, "ledger", "trial-balance")
    assert result.exit_code == 0
    assert "1000" in result.output and "70.00" in result.output
    result = run_cli(runner, "ledger", "lock", "2026-01-31")
    assert result.exit_code == 0 and "locked through 2026-01-31" in result.output
    result = run_cli(runner, "ledger", "lock", "31/01/2026")
    assert result.exit_code == 1 and "must be a date" in result.output
    with pytest.raises(Exception, match="locked"):
        ledger.post_entry(
            session,
            {
                "journal": "GJ",
                "date": "2026-01-15",
                "lines": [{"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}],
            },
        )


def test_api_routes_outside_flask_smorest_take_bearer_tokens_without_csrf(make_app, database_url):
    from flask import jsonify

    from core.testing import ADMIN_EMAIL, api_token, make_user
    from core.web.guards import any_user

    app = make_app(database_url)

    @any_user
    def ping():
        return jsonify(pong=True)

    app.add_url_rule("/api/v1/ping", "ping", ping, methods=["POST"])
    make_user(app.extensions["officium"], ADMIN_EMAIL, roles=("admin",))
    client = app.test_client()
    token = api_token(client, ADMIN_EMAIL)
    response = client.post("/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json == {"pong": True}
    # A browser form post outside /api/ still needs its token.
    assert client.post("/login", data={"email": ADMIN_EMAIL, "password": "x"}).status_code == 400
