"""Users, roles, permissions and API tokens."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.context import actor_of, manager_of, set_actor
from core.db import utcnow
from core.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationError
from core.events import emit
from core.models import ApiToken, Role, RolePermission, User, UserCompany, UserRole
from core.permissions import ADMIN_ROLE, CORE_PERMISSIONS, require_permission
from core.security import (
    check_password_policy,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def all_permissions(session: Session) -> dict[str, str]:
    """Every permission code known to core and the enabled plugins, with its description."""
    codes = dict(CORE_PERMISSIONS)
    manager = manager_of(session)
    if manager is not None:
        for item in manager.collect("officium_permissions"):
            code, description = (item, "") if isinstance(item, str) else item
            codes.setdefault(code, description)
    return dict(sorted(codes.items()))


def ensure_admin_role(session: Session) -> Role:
    role = session.scalar(select(Role).where(Role.name == ADMIN_ROLE))
    if role is None:
        role = Role(name=ADMIN_ROLE, description="Every permission, including future ones")
        session.add(role)
        session.flush()
    return role


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


@require_permission("users.manage")
def create_user(
    session: Session,
    *,
    email: str,
    password: str | None,
    name: str = "",
    roles: Iterable[str] = (),
    company_ids: Iterable[int] = (),
) -> User:
    """Create a user; emails are unique case-insensitively, passwords follow the policy."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("invalid email", fields={"email": ["is not a valid email address"]})
    if get_user_by_email(session, email) is not None:
        raise Conflict(f"a user with email {email} exists", fields={"email": ["already in use"]})
    if password is not None:
        check_password_policy(password)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password) if password else None)
    user.roles = [_role_by_name(session, r) for r in roles]
    if any(r.name == ADMIN_ROLE for r in user.roles):
        _check_may_grant_admin(session)
    session.add(user)
    session.flush()
    for company_id in company_ids:
        session.add(UserCompany(user_id=user.id, company_id=company_id))
    session.flush()
    emit(session, "user.created", {"id": user.id, "email": user.email})
    return user


@require_permission("users.manage")
def set_password(session: Session, user: User, password: str) -> None:
    """Set a new password; every other session of the user ends and its tokens are revoked."""
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.session_generation += 1
    revoke_tokens(session, user)
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """A user changes their own password, proving the current one."""
    if not verify_password(user.password_hash, current):
        raise ValidationError("wrong password", fields={"current_password": ["is not correct"]})
    check_password_policy(new)
    user.password_hash = hash_password(new)
    user.session_generation += 1
    revoke_tokens(session, user)
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with these credentials; one message for every failure.

    From here the session acts as that user, so the login itself is theirs in the audit trail.
    """
    user = get_user_by_email(session, email)
    if user is None or not verify_password(user.password_hash, password) or not user.active:
        raise AuthenticationFailed("invalid email or password")
    set_actor(session, user)
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def _role_by_name(session: Session, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise ValidationError(f"no role named {name!r}", fields={"roles": [f"unknown role {name!r}"]})
    return role


@require_permission("roles.manage")
def create_role(
    session: Session, *, name: str, permissions: Iterable[str] = (), description: str = ""
) -> Role:
    """Create a role with permission codes; unknown codes are refused."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("invalid role", fields={"name": ["is required (at most 100 characters)"]})
    if session.scalar(select(Role.id).where(func.lower(Role.name) == name.lower())) is not None:
        raise Conflict(f"a role named {name} exists", fields={"name": ["already in use"]})
    role = Role(name=name, description=description)
    session.add(role)
    session.flush()
    set_role_permissions(session, role, permissions)
    return role


def company_users(session: Session, *, active: bool = True, limit: int = 1000) -> list[User]:
    """Users with access to the session's company (active ones by default), by name."""
    from core.context import company_id_of

    stmt = (
        select(User)
        .join(UserCompany, UserCompany.user_id == User.id)
        .where(UserCompany.company_id == company_id_of(session))
    )
    if active:
        stmt = stmt.where(User.active.is_(True))
    return list(session.scalars(stmt.order_by(User.name, User.email).limit(limit)))


def company_user(session: Session, user_id: int) -> User | None:
    """The active user ``user_id`` if they have access to the session's company, else None."""
    from core.context import company_id_of

    return session.scalar(
        select(User)
        .join(UserCompany, UserCompany.user_id == User.id)
        .where(User.id == user_id, User.active.is_(True), UserCompany.company_id == company_id_of(session))
    )


def ensure_role(session: Session, *, name: str, permissions: Iterable[str], description: str = "") -> Role:
    """Create a role a plugin ships (e.g. "Accountant") unless one of that name exists.

    For ``officium_plugin_enabled``: the plugin's own codes are trusted here,
    since it is not in the enabled set yet while it is being enabled. An
    existing role is left as the administrators made it.
    """
    role = session.scalar(select(Role).where(func.lower(Role.name) == name.lower()))
    if role is not None:
        return role
    role = Role(name=name, description=description)
    session.add(role)
    session.flush()
    for code in sorted(set(permissions)):
        session.add(RolePermission(role_id=role.id, code=code))
    session.flush()
    session.expire(role, ["permissions"])
    return role


@require_permission("roles.manage")
def set_role_permissions(session: Session, role: Role, permissions: Iterable[str]) -> Role:
    codes = sorted(set(permissions))
    known = all_permissions(session)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationError(
            f"unknown permission {unknown[0]!r}",
            fields={"permissions": [f"unknown permission {c!r}" for c in unknown]},
        )
    session.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
    session.expire(role, ["permissions"])
    for code in codes:
        session.add(RolePermission(role_id=role.id, code=code))
    session.flush()
    session.expire(role, ["permissions"])
    return role


@require_permission("users.manage")
def grant_role(session: Session, user: User, role_name: str) -> None:
    role = _role_by_name(session, role_name)
    if role.name == ADMIN_ROLE:
        _check_may_grant_admin(session)
    if role not in user.roles:
        user.roles.append(role)
    session.flush()


@require_permission("users.manage")
def revoke_role(session: Session, user: User, role_name: str) -> None:
    role = _role_by_name(session, role_name)
    if role.name == ADMIN_ROLE:
        _check_may_grant_admin(session)
        _check_not_last_admin(session, user)
    if role in user.roles:
        user.roles.remove(role)
    session.flush()


@require_permission("users.manage")
def set_roles(session: Session, user: User, role_names: Iterable[str]) -> None:
    """Give ``user`` exactly these roles.

    Grants first: an unknown name is refused before anything changes, and a user
    editing their own roles keeps users.manage while the old roles go.
    """
    wanted = set(role_names)
    for name in sorted(wanted):
        grant_role(session, user, name)
    for role in list(user.roles):
        if role.name not in wanted:
            revoke_role(session, user, role.name)


@require_permission("users.manage")
def set_active(session: Session, user: User, active: bool) -> None:
    """Activate or deactivate a user; a deactivated user's sessions end and tokens are revoked."""
    if not active:
        if user.id is not None and user.id == getattr(actor_of(session), "id", None):
            raise ValidationError(
                "cannot deactivate yourself", fields={"active": ["you cannot deactivate yourself"]}
            )
        _check_not_last_admin(session, user)
        user.session_generation += 1
        revoke_tokens(session, user)
    user.active = bool(active)
    session.flush()


def _check_may_grant_admin(session: Session) -> None:
    # users.manage alone must not be a path to every permission.
    actor = actor_of(session)
    if not getattr(actor, "is_admin", True):
        raise PermissionDenied(ADMIN_ROLE, "only an administrator can grant or remove the admin role")


def _check_not_last_admin(session: Session, user: User) -> None:
    if not (user.active and user.is_admin):
        return
    admins = session.scalar(
        select(func.count(User.id))
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.name == ADMIN_ROLE, User.active.is_(True))
    )
    if admins <= 1:
        raise ValidationError(
            "the last active administrator must stay an administrator",
            fields={"roles": ["the last active administrator must stay an administrator"]},
        )


def issue_token(session: Session, user: User, name: str = "", expires_at: dt.datetime | None = None) -> str:
    """Create an API token for ``user``; the returned value is shown once, only its hash is kept."""
    token, digest, prefix = new_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=digest, prefix=prefix, expires_at=expires_at))
    session.flush()
    return token


def authenticate_token(session: Session, token: str) -> User:
    """The active user of a valid, unrevoked, unexpired token; records its last use."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token or "")))
    now = utcnow()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
        or not row.user.active
    ):
        raise AuthenticationFailed("invalid or expired token")
    # Writing on every call would serialise readers; a minute's precision is enough.
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now
        session.flush()
    return row.user


def revoke_tokens(session: Session, user: User) -> int:
    now = utcnow()
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    session.flush()
    return len(tokens)
