from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def uploads_without_antivirus(app_configs, **kwargs):
    """Files accepted without clamd: parsed and re-encoded, but never scanned for viruses."""
    if settings.UPLOADS_WITHOUT_ANTIVIRUS and not (settings.CLAMD_SOCKET or settings.CLAMD_HOST):
        return [
            checks.Warning(
                "UPLOADS_WITHOUT_ANTIVIRUS is true and no clamd is configured: attachments are "
                "stored without any antivirus scan.",
                hint="Set CLAMD_SOCKET or CLAMD_HOST (docker-compose's clamav service), and "
                "remove UPLOADS_WITHOUT_ANTIVIRUS.",
                id="demandes.W001",
            )
        ]
    return []
