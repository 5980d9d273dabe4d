"""Token authentication with the user fetched by one plain-SQL join.

It runs on every API call; DRF's `select_related` lookup builds the same join through the ORM
at several times the CPU (docs/benchmarks.md). Same header (`Authorization: Token <key>`), same
errors.
"""

from django.contrib.auth import get_user_model
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from ..rows import fetch_one

User = get_user_model()
USER_BY_TOKEN_SQL = (
    f"SELECT u.* FROM {User._meta.db_table} u "  # noqa: S608 (our tables)
    f"JOIN {Token._meta.db_table} t ON t.user_id = u.{User._meta.pk.column} WHERE t.key = %s"
)


class FastTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user = fetch_one(User, USER_BY_TOKEN_SQL, [key])
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, key
