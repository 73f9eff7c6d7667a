"""Accounts: territories (tenants), users, memberships and roles, login, audit trail."""
