"""The API layer: IAM tokens, the token cache and IMS image sharing. Never imports Textual."""

from tui.cloud.errors import ApiError
from tui.cloud.http import RetryPolicy
from tui.cloud.models import ALL_STATUSES, Decision, Member, MemberStatus, SharedImage, Token
from tui.cloud.session import CloudSession, PasswordRequired
from tui.cloud.token_cache import TokenCache

__all__ = [
    "ALL_STATUSES",
    "ApiError",
    "CloudSession",
    "Decision",
    "Member",
    "MemberStatus",
    "PasswordRequired",
    "RetryPolicy",
    "SharedImage",
    "Token",
    "TokenCache",
]
