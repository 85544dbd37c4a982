"""Create the attachments' bucket on the object storage if it is missing (docker-compose's
storage-init service runs it before the web replicas start). Idempotent: a bucket already there
is left as it is. Waits up to --wait seconds for a storage that is still starting."""

import time

from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from storages.backends.s3 import S3Storage

MISSING = {"404", "NoSuchBucket", "NotFound"}


class Command(BaseCommand):
    help = (
        "Crée le bucket des pièces jointes sur le stockage objet (ATTACHMENTS_STORAGE=s3) s'il "
        "n'existe pas encore ; ne fait rien s'il existe, ni avec le stockage local."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=int,
            default=0,
            help="Secondes pendant lesquelles attendre un stockage qui ne répond pas encore.",
        )

    def handle(self, *args, wait: int, **options):
        storage = storages["attachments"]
        if not isinstance(storage, S3Storage):
            self.stdout.write("Stockage local des pièces jointes : aucun bucket à créer.")
            return
        client, bucket = storage.connection.meta.client, storage.bucket_name
        deadline = time.monotonic() + wait
        while True:
            try:
                created = self._ensure(client, bucket, storage.region_name)
                break
            except EndpointConnectionError as error:
                if time.monotonic() >= deadline:
                    raise CommandError(f"Le stockage objet ne répond pas : {error}") from error
                time.sleep(1)
        verb = "créé" if created else "existe déjà"
        self.stdout.write(f"Bucket {bucket} : {verb}.")

    def _ensure(self, client, bucket: str, region: str | None) -> bool:
        try:
            client.head_bucket(Bucket=bucket)
            return False
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in MISSING:
                raise CommandError(f"Bucket {bucket} : {error}") from error
        options = {}
        if region and region != "us-east-1":  # S3 refuses us-east-1 as a location constraint
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client.create_bucket(Bucket=bucket, **options)
        return True
