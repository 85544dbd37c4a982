"""A day on which every job has something to do, for the tests common to all jobs."""

import datetime

from accounts.models import Invitation
from accounts.sessions import SessionStore
from demandes.attachments import AttachmentsField
from demandes.services import cloturer
from inscriptions.models import Statut
from notifications.models import SentEmail
from tests.factories import (
    AccessLogEntryFactory,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    MessageContactFactory,
    OrganismeFactory,
    PreInscriptionFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, make_demande, with_all_offres

from .conftest import paris


def pdf_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("Avis.pdf", PDF)


# The moment of the scenario: the jobs run on 10 May 2026 at 02:00 (Paris).
MOMENT = (2026, 5, 10, 2, 0)


def build(now) -> dict:
    now(2024, 1, 5, 9, 0)
    SentEmail.objects.create(template="accounts/invitation", recipient="ancien@ccas.fr")
    AccessLogEntryFactory(user_label="a.ancien")  # older than the access log's retention
    # Older than their retention: a contact message and a pré-inscription refused at once.
    MessageContactFactory()
    PreInscriptionFactory(statut=Statut.REFUSEE, decided_at=paris(2024, 1, 5, 9, 0))
    SessionStore().create()  # left idle long ago: expired
    # Closed more than 24 months ago, with a file: anonymised (its convention stays open-ended).
    with_files = with_all_offres(date_debut=datetime.date(2023, 6, 1))
    agent = AgentFactory(organisme=with_files.organisme)
    author = TechnicienFactory(structure=with_files.structure)
    demande = make_demande(author, with_files, uploads=AttachmentsField().clean([pdf_upload()]))
    author.delete()  # purged since: no e-mail of the closure, which the e-mail log would purge
    cloturer(by=agent, demande=demande, reponse="Fait.")
    # Sent yesterday to that agent's organisme: in the agent's daily digest (its notice of the
    # demande above, older than its retention, is deleted by the same job).
    now(2026, 5, 9, 15, 0)
    make_demande(TechnicienFactory(structure=with_files.structure), with_files)
    now(*MOMENT)
    SessionStore().create()  # in use now
    organisme = OrganismeFactory(nom="CPAM DE L'OISE", delai_purge_mois=6)
    # Its only convention ended yesterday: its two accounts are inactivated.
    ended = ConventionFactory(
        organisme=organisme,
        date_debut=datetime.date(2025, 1, 1),
        date_fin=datetime.date(2026, 5, 9),
    )
    GestionnaireFactory(structure=ended.structure)
    TechnicienFactory(structure=ended.structure)
    # Ends within 30 days: its gestionnaire, whose password expires soon too, is warned.
    ending = ConventionFactory(
        organisme=organisme,
        date_debut=datetime.date(2025, 6, 1),
        date_fin=datetime.date(2026, 6, 1),
    )
    warned = GestionnaireFactory(
        structure=ending.structure, password_changed_at=paris(2025, 5, 20, 10, 0)
    )
    # The link with which they set their first password, long expired: purged.
    Invitation.objects.create(
        account=warned, expires_at=paris(2025, 3, 1, 9, 0), used_at=paris(2025, 2, 27, 9, 0)
    )
    # Inactive for more than 6 months: purged.
    purged = TechnicienFactory(
        structure=StructureFactory(), is_active=False, inactivated_at=paris(2025, 10, 1, 9)
    )
    # Reviews and dormant accounts: a structure whose convention started in 2025, never
    # reviewed (its gestionnaire is asked), with a technicien unused since October (warned) and
    # one warned 20 days ago (inactivated).
    running = ConventionFactory(organisme=organisme, date_debut=datetime.date(2025, 6, 1))
    GestionnaireFactory(structure=running.structure)
    TechnicienFactory(structure=running.structure)
    TechnicienFactory(
        structure=running.structure,
        created_at=paris(2025, 6, 1, 9),
        last_login=paris(2025, 10, 1, 9),
    )
    TechnicienFactory(
        structure=running.structure,
        created_at=paris(2025, 6, 1, 9),
        last_login=paris(2025, 10, 1, 9),
        dormant_warning_sent_at=paris(2026, 4, 20, 6, 45),
    )
    return {"ended": ended, "ending": ending, "purged": purged}
