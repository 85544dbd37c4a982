"""What can be asked (SPEC §5, conventions 001/003/004): motifs per offer, urgent categories,
départements. Codes are stored; labels are shown."""

from django.utils.translation import gettext_lazy as _

# Offers (conventions.Offre.code) under which a demande can be made; "historique" is the list.
CONTACTER = "contacter"
ETUDE_DOSSIER = "etude-dossier"
DIFFICULTE_ACCES = "difficulte-acces"
RENDEZ_VOUS = "rendez-vous"
DOCUMENT = "document"
HISTORIQUE = "historique"

MOTIFS = {
    CONTACTER: (("question", _("Question à l'organisme")),),
    ETUDE_DOSSIER: (
        ("ouverture-droits", _("Ouverture de droits")),
        ("changement-situation", _("Changement de situation")),
        ("puma", _("Protection universelle maladie (PUMa)")),
        ("c2s", _("Complémentaire santé solidaire (C2S)")),
        ("ame", _("Aide médicale de l'État (AME)")),
        ("autre", _("Autre")),
    ),
    DIFFICULTE_ACCES: (
        ("acces-droits", _("Difficulté d'accès aux droits")),
        ("acces-soins", _("Difficulté d'accès aux soins")),
        ("renoncement-soins", _("Renoncement aux soins")),
    ),
    RENDEZ_VOUS: (
        ("compte-ameli", _("Accompagnement compte ameli")),
        ("c2s", _("Complémentaire santé solidaire (C2S)")),
        ("ame", _("Aide médicale de l'État (AME)")),
        ("capital-deces", _("Capital décès")),
        ("pension-invalidite", _("Pension d'invalidité")),
        ("examen-prevention", _("Examen de prévention en santé")),
        ("rente-atmp", _("Rente AT/MP")),
        ("service-social-carsat", _("Service social de la CARSAT")),
        ("arret-travail-ij", _("Arrêt de travail et indemnités journalières")),
    ),
    DOCUMENT: (
        ("attestation-droits", _("Attestation de droits")),
        ("ceam", _("Certificat provisoire de remplacement de la CEAM")),
        ("formulaire-carte-vitale", _("Formulaire de carte Vitale")),
        ("offres-prevention", _("Offres de prévention")),
        ("autre", _("Autre document (à préciser dans le commentaire)")),
    ),
}
# Motifs whose comment must say what is asked.
MOTIFS_TO_SPECIFY = {(ETUDE_DOSSIER, "autre"), (DOCUMENT, "autre")}


def motif_label(offre_code: str, motif: str) -> str:
    return str(dict(MOTIFS.get(offre_code, ())).get(motif, motif))


# What each offer is for and what happens next, in the words of the conventions (001 art. 1.2,
# 003 art. 1.2 and annexe 1, 004 art. 1.2–1.3), shown on the choice page and atop each form
# (issue 19, item 2). "%(organisme)s" is the selected organisme.
DESCRIPTIONS = {
    CONTACTER: _(
        "Poser une question à la caisse de rattachement d'un assuré que vous accompagnez, "
        "quand aucune autre offre ne convient."
    ),
    ETUDE_DOSSIER: _(
        "Faire étudier le dossier d'un assuré, pour son compte : ouverture de droits, changement "
        "de situation, PUMa, Complémentaire santé solidaire (C2S), Aide médicale de l'État "
        "(AME)…"
    ),
    DIFFICULTE_ACCES: _(
        "Signaler une personne que vous accompagnez et qui a des difficultés d'accès à ses droits "
        "ou à ses soins : renoncement aux soins, fragilité face au numérique, situation sociale "
        "complexe."
    ),
    RENDEZ_VOUS: _(
        "Demander un rendez-vous pour un assuré : compte ameli, C2S, AME, capital décès, pension "
        "d'invalidité, examen de prévention en santé, rente AT/MP, service social de la CARSAT, "
        "arrêt de travail et indemnités journalières."
    ),
    DOCUMENT: _(
        "Demander un document concernant un assuré : attestation de droits, certificat "
        "provisoire CEAM, formulaire carte Vitale, offres de prévention, autre document."
    ),
}
NEXT_STEPS = {
    CONTACTER: _(
        "Votre question est envoyée à %(organisme)s, qui vous répond dans la demande : vous "
        "recevez un e-mail quand la réponse est là."
    ),
    ETUDE_DOSSIER: _(
        "L'organisme étudie le dossier avec les pièces jointes ; il peut vous demander un "
        "complément, puis vous donne sa réponse dans la demande."
    ),
    DIFFICULTE_ACCES: _(
        "Le signalement est transmis à la Mission accompagnement santé de %(organisme)s, qui "
        "organise l'accompagnement de la personne et vous répond dans la demande."
    ),
    RENDEZ_VOUS: _(
        "L'organisme fixe le rendez-vous et vous l'indique dans la demande : prévenez l'assuré(e) "
        "de la date qui vous est donnée."
    ),
    DOCUMENT: _(
        "Le document demandé est envoyé à l'adresse connue de l'assuré(e), pas à votre "
        "structure ; l'organisme vous le confirme dans la demande."
    ),
}
DOCUMENT_HABILITEE = _(
    "Votre structure étant habilitée par la convention, l'organisme peut aussi le joindre à la "
    "demande."
)
CONTACTER_RESERVE = _(
    "« Contacter votre organisme » est réservé aux gestionnaires de votre structure par la "
    "convention : adressez-leur votre question."
)


def offer_guide(offre_code: str, *, organisme: str, habilitee: bool) -> dict[str, str]:
    """What an offer is for and what happens next, for the selected organisme."""
    ensuite = NEXT_STEPS[offre_code] % {"organisme": organisme}
    if offre_code == DOCUMENT and habilitee:
        ensuite = f"{ensuite} {DOCUMENT_HABILITEE}"
    return {"description": str(DESCRIPTIONS[offre_code]), "ensuite": ensuite}


URGENCES = (
    (
        "ij-non-payees",
        _("Indemnités journalières non payées depuis plus de 30 jours, situation précaire"),
    ),
    ("invalidite", _("Invalidité non payée ou sans réponse depuis plus de 30 jours")),
    ("suivi-ame", _("Suivi d'une demande d'AME")),
    ("c2s-puma-asile", _("C2S/PUMa demandeur d'asile avec soins urgents sous 10 jours")),
    ("sans-droits-soins", _("Assuré sans droits avec soins imminents")),
)

DEPARTEMENTS = (
    ("01", "Ain"),
    ("02", "Aisne"),
    ("03", "Allier"),
    ("04", "Alpes-de-Haute-Provence"),
    ("05", "Hautes-Alpes"),
    ("06", "Alpes-Maritimes"),
    ("07", "Ardèche"),
    ("08", "Ardennes"),
    ("09", "Ariège"),
    ("10", "Aube"),
    ("11", "Aude"),
    ("12", "Aveyron"),
    ("13", "Bouches-du-Rhône"),
    ("14", "Calvados"),
    ("15", "Cantal"),
    ("16", "Charente"),
    ("17", "Charente-Maritime"),
    ("18", "Cher"),
    ("19", "Corrèze"),
    ("2A", "Corse-du-Sud"),
    ("2B", "Haute-Corse"),
    ("21", "Côte-d'Or"),
    ("22", "Côtes-d'Armor"),
    ("23", "Creuse"),
    ("24", "Dordogne"),
    ("25", "Doubs"),
    ("26", "Drôme"),
    ("27", "Eure"),
    ("28", "Eure-et-Loir"),
    ("29", "Finistère"),
    ("30", "Gard"),
    ("31", "Haute-Garonne"),
    ("32", "Gers"),
    ("33", "Gironde"),
    ("34", "Hérault"),
    ("35", "Ille-et-Vilaine"),
    ("36", "Indre"),
    ("37", "Indre-et-Loire"),
    ("38", "Isère"),
    ("39", "Jura"),
    ("40", "Landes"),
    ("41", "Loir-et-Cher"),
    ("42", "Loire"),
    ("43", "Haute-Loire"),
    ("44", "Loire-Atlantique"),
    ("45", "Loiret"),
    ("46", "Lot"),
    ("47", "Lot-et-Garonne"),
    ("48", "Lozère"),
    ("49", "Maine-et-Loire"),
    ("50", "Manche"),
    ("51", "Marne"),
    ("52", "Haute-Marne"),
    ("53", "Mayenne"),
    ("54", "Meurthe-et-Moselle"),
    ("55", "Meuse"),
    ("56", "Morbihan"),
    ("57", "Moselle"),
    ("58", "Nièvre"),
    ("59", "Nord"),
    ("60", "Oise"),
    ("61", "Orne"),
    ("62", "Pas-de-Calais"),
    ("63", "Puy-de-Dôme"),
    ("64", "Pyrénées-Atlantiques"),
    ("65", "Hautes-Pyrénées"),
    ("66", "Pyrénées-Orientales"),
    ("67", "Bas-Rhin"),
    ("68", "Haut-Rhin"),
    ("69", "Rhône"),
    ("70", "Haute-Saône"),
    ("71", "Saône-et-Loire"),
    ("72", "Sarthe"),
    ("73", "Savoie"),
    ("74", "Haute-Savoie"),
    ("75", "Paris"),
    ("76", "Seine-Maritime"),
    ("77", "Seine-et-Marne"),
    ("78", "Yvelines"),
    ("79", "Deux-Sèvres"),
    ("80", "Somme"),
    ("81", "Tarn"),
    ("82", "Tarn-et-Garonne"),
    ("83", "Var"),
    ("84", "Vaucluse"),
    ("85", "Vendée"),
    ("86", "Vienne"),
    ("87", "Haute-Vienne"),
    ("88", "Vosges"),
    ("89", "Yonne"),
    ("90", "Territoire de Belfort"),
    ("91", "Essonne"),
    ("92", "Hauts-de-Seine"),
    ("93", "Seine-Saint-Denis"),
    ("94", "Val-de-Marne"),
    ("95", "Val-d'Oise"),
    ("971", "Guadeloupe"),
    ("972", "Martinique"),
    ("973", "Guyane"),
    ("974", "La Réunion"),
    ("975", "Saint-Pierre-et-Miquelon"),
    ("976", "Mayotte"),
    ("977", "Saint-Barthélemy"),
    ("978", "Saint-Martin"),
)
DEPARTEMENT_CHOICES = tuple((code, f"{code} — {name}") for code, name in DEPARTEMENTS)
