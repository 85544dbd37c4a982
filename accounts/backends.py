from django.contrib.auth.backends import ModelBackend

from . import login_chain
from .models import User


class AccountBackend(ModelBackend):
    """Log-in by identifiant; refused for inactive accounts and suspended structures.

    `get_user` goes through `user_can_authenticate` on every request, so an account that is
    inactivated, or whose structure is suspended, loses its open sessions at once. The user,
    its structure and its structure's conventions are read in one hand-written statement
    (accounts/login_chain.py), the decision is still this class's.
    """

    def user_can_authenticate(self, user: User) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not (user.is_partner and user.structure.is_suspendue)

    def get_user(self, user_id):
        user = login_chain.read_user(user_id)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None
