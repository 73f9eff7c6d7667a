"""A local Graph API sandbox: the Graph wire format for the endpoints Rayonne uses, simulated delivery
on a clock that tests and the demo move forward, injectable faults, and an HTTP control API.

See ``README.md`` in this folder. Nothing here imports Flask or another Rayonne package.
"""

from facebook.sandbox.app import SandboxApp, create_sandbox_app
from facebook.sandbox.faults import KINDS as FAULT_KINDS
from facebook.sandbox.server import (
    DEMO_AD_ACCOUNT_ID,
    DEMO_ADS_TOKEN,
    DEMO_PAGE_ID,
    DEMO_PAGE_TOKEN,
    DEMO_USER_TOKEN,
    SandboxControl,
    SandboxControlError,
    SandboxServer,
    default_demo_setup,
    demo_connection,
    is_loopback,
    run_sandbox,
)

__all__ = [
    "DEMO_ADS_TOKEN",
    "DEMO_AD_ACCOUNT_ID",
    "DEMO_PAGE_ID",
    "DEMO_PAGE_TOKEN",
    "DEMO_USER_TOKEN",
    "FAULT_KINDS",
    "SandboxApp",
    "SandboxControl",
    "SandboxControlError",
    "SandboxServer",
    "create_sandbox_app",
    "default_demo_setup",
    "demo_connection",
    "is_loopback",
    "run_sandbox",
]
