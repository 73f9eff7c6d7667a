"""Rayonne's integration with Facebook: the client over ``facebook-business`` and the Graph sandbox.

This package stands alone (no Flask, no other Rayonne package). The Graph API version is pinned here
and only here.
"""

GRAPH_API_VERSION = "v26.0"

# The client imports GRAPH_API_VERSION from this module, so it must be defined first.
from facebook.client import (  # noqa: E402
    AccountInfo,
    AdDay,
    AdReview,
    BatchRequest,
    Connection,
    ConnectionCheck,
    FacebookClient,
    PageDay,
    PageInfo,
    PostMetrics,
    spend_to_minor,
)
from facebook.errors import (  # noqa: E402
    AuthError,
    FacebookError,
    FacebookPermissionError,
    InvalidRequestError,
    OutcomeUnknownError,
    PolicyError,
    ThrottledError,
    TransientError,
    classify,
)
from facebook.retry import RetryPolicy, ThrottleRegistry, throttle_registry  # noqa: E402

__all__ = [
    "GRAPH_API_VERSION",
    "AccountInfo",
    "AdDay",
    "AdReview",
    "AuthError",
    "BatchRequest",
    "Connection",
    "ConnectionCheck",
    "FacebookClient",
    "FacebookError",
    "FacebookPermissionError",
    "InvalidRequestError",
    "OutcomeUnknownError",
    "PageDay",
    "PageInfo",
    "PolicyError",
    "PostMetrics",
    "RetryPolicy",
    "ThrottleRegistry",
    "ThrottledError",
    "TransientError",
    "classify",
    "spend_to_minor",
    "throttle_registry",
]
