"""Users, roles, permissions, passwords and API tokens, through the users service."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, text

from core.context import set_actor
from core.errors import AuthenticationFailed, Conflict, PermissionDenied, ValidationError
from core.models import ApiToken, User
from core.services import users

GOOD_PASSWORD = "violet-harbour-lantern"


def make_user(session, email="clerk@x.example", password=GOOD_PASSWORD, roles=()):
    return users.create_user(session, email=email, password=password, roles=roles)


# --- emails ---------------------------------------------------------------------------------


def test_emails_are_unique_whatever_their_case(session):
    make_user(session, email="a@x.example")
    with pytest.raises(Conflict, match="a user with email a@x.example exists"):
        make_user(session, email="A@x.example")


def test_emails_are_stored_lower_case_and_found_in_any_case(session):
    user = make_user(session, email="  Ada.Lovelace@Example.ORG ")
    session.commit()
    stored = session.execute(text("SELECT email FROM user_account WHERE id = :id"), {"id": user.id}).scalar()
    assert stored == "ada.lovelace@example.org"
    assert users.get_user_by_email(session, "ADA.LOVELACE@example.org").id == user.id


def test_an_invalid_email_is_refused(session):
    with pytest.raises(ValidationError) as error:
        make_user(session, email="not-an-email")
    assert error.value.fields == {"email": ["is not a valid email address"]}


# --- passwords -----------------------------------------------------------------------------


def test_a_password_under_12_characters_is_refused(session):
    with pytest.raises(ValidationError, match="password too short") as error:
        make_user(session, password="eleven-char")
    assert error.value.fields == {"password": ["must be at least 12 characters"]}
    assert users.get_user_by_email(session, "clerk@x.example") is None


def test_a_password_of_exactly_12_characters_is_accepted(session):
    make_user(session, password="twelve-chars")
    assert users.authenticate(session, "clerk@x.example", "twelve-chars").email == "clerk@x.example"


def test_a_password_over_128_characters_is_refused_not_truncated(session):
    with pytest.raises(ValidationError, match="password too long") as error:
        make_user(session, password="a1b2c3d4" * 16 + "x")
    assert error.value.fields == {"password": ["must be at most 128 characters"]}


def test_a_long_password_counts_in_full(session):
    password = "".join(f"{i:02d}-quokka;" for i in range(10))
    assert len(password) == 100
    make_user(session, password=password)
    assert users.authenticate(session, "clerk@x.example", password).email == "clerk@x.example"
    for prefix in (password[:72], password[:99]):
        with pytest.raises(AuthenticationFailed):
            users.authenticate(session, "clerk@x.example", prefix)


@pytest.mark.parametrize(
    "password", ["password1234", "PASSWORD1234", "correcthorsebatterystaple", "aaaaaaaaaaaaaaa"]
)
def test_a_common_password_is_refused(session, password):
    with pytest.raises(ValidationError, match="password too common"):
        make_user(session, password=password)


def test_passwords_are_stored_as_argon2_hashes(session):
    user = make_user(session)
    session.commit()
    stored = session.execute(
        text("SELECT password_hash FROM user_account WHERE id = :id"), {"id": user.id}
    ).scalar()
    assert stored.startswith("$argon2")
    assert GOOD_PASSWORD not in stored


# --- authentication ---------------------------------------------------------------------------


def test_the_right_password_logs_in_and_the_login_time_is_recorded(session):
    user = make_user(session)
    assert user.last_login_at is None
    assert users.authenticate(session, "CLERK@x.example", GOOD_PASSWORD).id == user.id
    assert user.last_login_at is not None


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(session):
    make_user(session)
    with pytest.raises(AuthenticationFailed) as wrong_password:
        users.authenticate(session, "clerk@x.example", "not-the-password")
    with pytest.raises(AuthenticationFailed) as unknown_user:
        users.authenticate(session, "nobody@x.example", GOOD_PASSWORD)
    assert str(wrong_password.value) == str(unknown_user.value) == "invalid email or password"


def test_an_inactive_user_cannot_log_in_and_holds_no_permission(session):
    user = make_user(session, roles=["admin"])
    user.active = False
    session.flush()
    with pytest.raises(AuthenticationFailed, match="invalid email or password"):
        users.authenticate(session, "clerk@x.example", GOOD_PASSWORD)
    assert not user.has_permission("contacts.view")
    set_actor(session, user)
    with pytest.raises(PermissionDenied, match="needs users.manage"):
        make_user(session, email="other@x.example")


# --- roles and permissions --------------------------------------------------------------------


def test_a_role_grants_exactly_its_permissions(session):
    users.create_role(session, name="clerk", permissions=["contacts.view", "contacts.create"])
    user = make_user(session, roles=["clerk"])
    assert user.has_permission("contacts.view")
    assert user.has_permission("contacts.create")
    assert not user.has_permission("contacts.delete")
    assert not user.has_permission("users.manage")


def test_changing_a_roles_permissions_changes_what_its_users_may_do(session):
    role = users.create_role(session, name="clerk", permissions=["contacts.view"])
    user = make_user(session, roles=["clerk"])
    users.set_role_permissions(session, role, ["ledger.view"])
    session.commit()
    session.expire_all()
    user = session.get(User, user.id)
    assert user.has_permission("ledger.view")
    assert not user.has_permission("contacts.view")


def test_a_user_may_hold_several_roles(session):
    users.create_role(session, name="sales", permissions=["contacts.view"])
    users.create_role(session, name="books", permissions=["ledger.view"])
    user = make_user(session, roles=["sales"])
    users.grant_role(session, user, "books")
    assert user.permission_codes == {"contacts.view", "ledger.view"}
    users.revoke_role(session, user, "sales")
    assert user.permission_codes == {"ledger.view"}


def test_an_unknown_permission_code_is_refused(session):
    with pytest.raises(ValidationError, match="unknown permission 'contacts.fly'"):
        users.create_role(session, name="pilot", permissions=["contacts.view", "contacts.fly"])


def test_an_unknown_role_is_refused(session):
    with pytest.raises(ValidationError, match="no role named 'ghost'"):
        make_user(session, roles=["ghost"])


def test_role_names_are_unique_whatever_their_case(session):
    users.create_role(session, name="Clerk")
    with pytest.raises(Conflict):
        users.create_role(session, name="clerk")


def test_a_plugins_permissions_can_be_granted_once_it_is_enabled(ext, session):
    with pytest.raises(ValidationError, match="unknown permission 'notes.note.view'"):
        users.create_role(session, name="reader", permissions=["notes.note.view"])
    session.rollback()  # SQLite: release the write lock before the plugin migrates
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.refresh(session)
    role = users.create_role(session, name="reader", permissions=["notes.note.view"])
    assert role.permission_codes == {"notes.note.view"}


def test_the_admin_role_holds_every_permission_including_plugins_ones(ext, session):
    session.rollback()
    ext.plugins.enable(ext.db, ["tasks"])
    ext.plugins.refresh(session)
    admin = make_user(session, email="boss@x.example", roles=["admin"])
    codes = users.all_permissions(session)
    assert {"contacts.view", "users.manage", "notes.note.view", "tasks.task.view"} <= set(codes)
    assert all(admin.has_permission(code) for code in codes)
    # And it acts on that: an admin may create users.
    set_actor(session, admin)
    assert make_user(session, email="new@x.example").email == "new@x.example"


def test_a_service_names_the_permission_the_actor_lacks(session):
    users.create_role(session, name="viewer", permissions=["contacts.view"])
    viewer = make_user(session, email="viewer@x.example", roles=["viewer"])
    set_actor(session, viewer)
    with pytest.raises(PermissionDenied, match="needs users.manage") as denied:
        make_user(session, email="other@x.example")
    assert denied.value.permission == "users.manage"
    with pytest.raises(PermissionDenied, match="needs roles.manage"):
        users.create_role(session, name="sneaky", permissions=["users.manage"])
    with pytest.raises(PermissionDenied, match="needs users.manage"):
        users.grant_role(session, viewer, "admin")
    assert not viewer.is_admin


# --- changing passwords ----------------------------------------------------------------------


def test_setting_a_password_ends_other_sessions_and_revokes_tokens(session):
    user = make_user(session)
    token = users.issue_token(session, user, "laptop")
    generation = user.session_generation
    users.set_password(session, user, "a-brand-new-passphrase")
    assert user.session_generation == generation + 1
    with pytest.raises(AuthenticationFailed):
        users.authenticate_token(session, token)
    with pytest.raises(AuthenticationFailed):
        users.authenticate(session, "clerk@x.example", GOOD_PASSWORD)
    assert users.authenticate(session, "clerk@x.example", "a-brand-new-passphrase").id == user.id


def test_setting_a_password_follows_the_policy(session):
    user = make_user(session)
    with pytest.raises(ValidationError, match="password too short"):
        users.set_password(session, user, "short")
    assert users.authenticate(session, "clerk@x.example", GOOD_PASSWORD).id == user.id


def test_changing_ones_own_password_needs_the_current_one(session):
    user = make_user(session)
    with pytest.raises(ValidationError, match="wrong password"):
        users.change_own_password(session, user, "guess-guess-guess", "another-fine-passphrase")
    users.change_own_password(session, user, GOOD_PASSWORD, "another-fine-passphrase")
    assert user.session_generation == 1
    assert users.authenticate(session, "clerk@x.example", "another-fine-passphrase").id == user.id


# --- API tokens ------------------------------------------------------------------------------


def test_an_api_token_is_shown_once_and_only_its_sha256_is_stored(session):
    user = make_user(session)
    token = users.issue_token(session, user, "ci")
    session.commit()
    rows = session.execute(text("SELECT * FROM api_token")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in [str(value) for value in row.values()]
    assert len(token) >= 40


def test_a_valid_token_authenticates_its_user_and_records_its_use(session):
    user = make_user(session)
    token = users.issue_token(session, user, "ci")
    assert session.scalar(select(ApiToken.last_used_at)) is None
    assert users.authenticate_token(session, token).id == user.id
    last_used = session.scalar(select(ApiToken.last_used_at))
    assert last_used is not None
    assert abs(last_used - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("token", ["", "off_not-a-real-token"])
def test_an_unknown_token_is_refused(session, token):
    make_user(session)
    with pytest.raises(AuthenticationFailed, match="invalid or expired token"):
        users.authenticate_token(session, token)


def test_a_revoked_token_is_refused(session):
    user = make_user(session)
    token = users.issue_token(session, user)
    assert users.revoke_tokens(session, user) == 1
    with pytest.raises(AuthenticationFailed, match="invalid or expired token"):
        users.authenticate_token(session, token)


def test_an_expired_token_is_refused(session):
    user = make_user(session)
    now = dt.datetime.now(dt.UTC)
    expired = users.issue_token(session, user, expires_at=now - dt.timedelta(seconds=1))
    valid = users.issue_token(session, user, expires_at=now + dt.timedelta(hours=1))
    with pytest.raises(AuthenticationFailed, match="invalid or expired token"):
        users.authenticate_token(session, expired)
    assert users.authenticate_token(session, valid).id == user.id


def test_a_deactivated_users_tokens_stop_working(session):
    user = make_user(session)
    token = users.issue_token(session, user)
    user.active = False
    session.flush()
    with pytest.raises(AuthenticationFailed):
        users.authenticate_token(session, token)


def test_users_manage_alone_cannot_grant_the_admin_role(ext):
    from core.context import set_actor
    from core.errors import PermissionDenied
    from core.models import User
    from core.services.users import get_user_by_email, grant_role
    from core.testing import make_user as make_test_user

    manager_id = make_test_user(ext, "manager@test.example", permissions=("users.manage",))
    make_test_user(ext, "someone@test.example")
    with ext.db.session() as session:
        set_actor(session, session.get(User, manager_id))
        with pytest.raises(PermissionDenied, match="only an administrator can grant"):
            grant_role(session, session.get(User, manager_id), "admin")
        with pytest.raises(PermissionDenied):
            grant_role(session, get_user_by_email(session, "someone@test.example"), "admin")


def test_the_last_active_administrator_keeps_the_admin_role(ext):
    from core.errors import ValidationError
    from core.models import User
    from core.services.users import revoke_role, set_active
    from core.testing import make_user as make_test_user

    admin_id = make_test_user(ext, "only-admin@test.example", roles=("admin",))
    with ext.db.session() as session:
        admin = session.get(User, admin_id)
        with pytest.raises(ValidationError, match="last active administrator"):
            revoke_role(session, admin, "admin")
        with pytest.raises(ValidationError, match="last active administrator"):
            set_active(session, admin, False)
    make_test_user(ext, "second-admin@test.example", roles=("admin",))
    with ext.db.session() as session:
        revoke_role(session, session.get(User, admin_id), "admin")
        assert not session.get(User, admin_id).is_admin
