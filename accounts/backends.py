from django.contrib.auth.backends import ModelBackend

from .models import User


class AccountBackend(ModelBackend):
    """Log-in by identifiant; refused for inactive accounts and suspended structures.

    `get_user` goes through `user_can_authenticate` on every request, so an account that is
    inactivated, or whose structure is suspended, loses its open sessions at once.
    """

    def user_can_authenticate(self, user: User) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not (user.is_partner and user.structure.is_suspendue)

    def get_user(self, user_id):
        try:
            user = User.objects.select_related("structure").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
