from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class ConsoleAndFileBackend(FileBackend):
    """The embedded default: each e-mail is printed on the console and kept in a file.

    The console shows it to the developer running `make run`; the file keeps it to open later
    (the "Créer mon mot de passe" link, for instance).
    """

    def __init__(self, *, alias=None, file_path=None, **kwargs):
        super().__init__(alias=alias, file_path=file_path, **kwargs)
        self._console = ConsoleBackend(alias=alias)

    def send_messages(self, email_messages):
        self._console.send_messages(email_messages)
        return super().send_messages(email_messages)
