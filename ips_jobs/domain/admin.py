"""Managing companies and users (the CLI's and the first start's use cases)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ips_jobs.clock import Clock
from ips_jobs.domain import access, validation
from ips_jobs.domain.jobs import Company, User
from ips_jobs.domain.passwords import hash_password
from ips_jobs.domain.ports import JobRepository
from ips_jobs.errors import InvalidParameter

log = logging.getLogger("ips_jobs.admin")

DEMO_COMPANY = "Demo Company"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"
_EMAIL = re.compile(r"[^@\s|]+@[^@\s|]+")


class Admin:
    def __init__(self, repository: JobRepository, clock: Clock) -> None:
        self.repository = repository
        self.clock = clock

    def add_company(self, name: str, company_id: int | None = None) -> Company:
        clean = validation.sendable(name.strip(), "name")
        if not clean or "|" in clean:
            raise InvalidParameter("name", "a company name must be non-empty and without '|'")
        if company_id is not None and not 0 <= company_id < validation.INT32.stop:
            raise InvalidParameter("id", f"a company id from 0 to {validation.INT32.stop - 1}")
        return self.repository.add_company(clean, self.clock.now(), company_id)

    def add_user(self, email: str, password: str, role: str, company_names: Sequence[str]) -> User:
        if not _EMAIL.fullmatch(validation.sendable(email, "email")):
            raise InvalidParameter("email", f"'{email}' is not an e-mail address")
        if role not in access.ROLES:
            raise InvalidParameter("role", f"'{role}' is not one of {', '.join(access.ROLES)}")
        if not password:
            raise InvalidParameter("password", "a password cannot be empty")
        ids = []
        for name in company_names:
            company = self.repository.company_by_name(name)
            if company is None:
                raise InvalidParameter("company", f"no company named '{name}'")
            ids.append(company.id)
        return self.repository.add_user(email, hash_password(password), role, ids)

    def seed_demo(self) -> bool:
        """On first start with no users, a demo company and user, so a client can log in."""
        if self.repository.has_users():
            return False
        company = self.repository.company_by_name(DEMO_COMPANY) or self.add_company(DEMO_COMPANY)
        self.add_user(DEMO_EMAIL, DEMO_PASSWORD, "IpsUser", [company.name])
        log.warning(
            "Empty database: created company %r (companyHandle c|%d) and user %s with "
            "password %r (role IpsUser). Add your own with `ips-jobs companies add` and "
            "`ips-jobs users add`.",
            DEMO_COMPANY,
            company.id,
            DEMO_EMAIL,
            DEMO_PASSWORD,
        )
        return True
