"""UI text in English and French, and dates, numbers and money formatted per language.

Written by hand (no Babel): the site needs two languages and a handful of formats, and the output
must be byte-identical on every machine, whatever its locale settings.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

Lang = Literal["en", "fr"]
LANGUAGES: Final[tuple[Lang, ...]] = get_args(Lang)

# French groups thousands with a narrow no-break space and puts a no-break space before units.
NNBSP: Final = "\u202f"
NBSP: Final = "\u00a0"

_MONTHS: Final[dict[Lang, tuple[str, ...]]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}
_MONTHS_SHORT: Final[dict[Lang, tuple[str, ...]]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
}
_WEEKDAYS: Final[dict[Lang, tuple[str, ...]]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
WEEKDAY_IDS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# ISO 4217 codes with a well-known symbol; others are written with their code. JPY-like currencies
# have no minor unit.
_SYMBOLS: Final = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}
_NO_MINOR_UNIT: Final = frozenset({"JPY", "KRW", "ISK", "CLP", "VND"})

# Every UI string, as (English, French). One table keeps both languages complete by construction.
_STRINGS: Final[dict[str, tuple[str, str]]] = {
    # chrome
    "skip_to_content": ("Skip to content", "Aller au contenu"),
    "site_for": ("Site for {label}", "Site pour {label}"),
    "main_nav": ("Main", "Principal"),
    "project_nav": ("Project", "Projet"),
    "built_on": ("Built on {date} by Worktrail.", "Généré le {date} par Worktrail."),
    "downloads": ("Downloads", "Téléchargements"),
    "feed": ("Trail feed (Atom)", "Flux du journal (Atom)"),
    "calendar": ("Calendar (iCalendar)", "Calendrier (iCalendar)"),
    "export": ("Everything on this site (JSON)", "Tout le contenu du site (JSON)"),
    "search_index": ("Search index (JSON)", "Index de recherche (JSON)"),
    # sections
    "home": ("Home", "Accueil"),
    "projects": ("Projects", "Projets"),
    "overview": ("Overview", "Vue d'ensemble"),
    "tasks": ("Tasks", "Tâches"),
    "changes": ("Change requests", "Demandes de changement"),
    "scope_changes": ("Scope changes", "Évolutions du périmètre"),
    "reports": ("Reports", "Rapports"),
    "meetings": ("Meetings", "Réunions"),
    "files": ("Files", "Fichiers"),
    "feedback": ("Feedback", "Retours"),
    "trail": ("Trail", "Journal"),
    "people": ("People", "Personnes"),
    "timeline": ("Timeline", "Chronologie"),
    "search": ("Search", "Recherche"),
    # home and project
    "progress": ("Progress", "Avancement"),
    "progress_value": ("{done} of {total} tasks done ({percent})", "{done} tâches terminées sur {total} ({percent})"),
    "no_tasks": ("No tasks.", "Aucune tâche."),
    "next_deadlines": ("Next deadlines", "Prochaines échéances"),
    "no_deadlines": ("No upcoming deadline.", "Aucune échéance à venir."),
    "no_projects": ("No projects.", "Aucun projet."),
    "status": ("Status", "Statut"),
    "dates": ("Dates", "Dates"),
    "start": ("Start", "Début"),
    "due": ("Due", "Échéance"),
    "client": ("Client", "Client"),
    "scope": ("Scope", "Périmètre"),
    "objectives": ("Objectives", "Objectifs"),
    "deliverables": ("Deliverables", "Livrables"),
    "out_of_scope": ("Out of scope", "Hors périmètre"),
    "client_responsibilities": ("Client responsibilities", "Responsabilités du client"),
    "freelancer_terms": ("Freelancer terms", "Conditions des indépendants"),
    "terms_for": ("For {name}", "Pour {name}"),
    "responsibilities": ("Responsibilities", "Responsabilités"),
    "standards": ("Standards", "Exigences"),
    "deadlines": ("Deadlines", "Échéances"),
    "members": ("Members", "Membres"),
    "approvers": ("Approvers", "Approbateurs"),
    "milestones": ("Milestones", "Jalons"),
    "milestone": ("Milestone", "Jalon"),
    "criteria": ("Criteria", "Critères"),
    "signed_off": ("Signed off by {name} on {date}", "Validé par {name} le {date}"),
    "communication": ("Communication", "Communication"),
    "cadence_line": ("{cadence} on {weekday} at {time} ({timezone})", "{cadence}, le {weekday} à {time} ({timezone})"),
    "duration": ("Duration", "Durée"),
    "minutes_value": ("{n} min", "{n} min"),
    "channel": ("Channel", "Canal"),
    "next_meeting": ("Next meeting", "Prochaine réunion"),
    "no_next_meeting": ("None scheduled.", "Aucune prévue."),
    "cadence.weekly": ("Weekly", "Hebdomadaire"),
    "cadence.biweekly": ("Every two weeks", "Toutes les deux semaines"),
    "cadence.monthly": ("Monthly (first of the month)", "Mensuelle (premier du mois)"),
    "budget": ("Budget", "Budget"),
    "description": ("Description", "Description"),
    "none": ("None.", "Aucun."),
    "someone": ("someone you may not see", "une personne non visible"),
    # tasks
    "id": ("ID", "ID"),
    "title": ("Title", "Titre"),
    "assignee": ("Assignee", "Responsable"),
    "priority": ("Priority", "Priorité"),
    "sort_by": ("Sort by", "Trier par"),
    "sorted_by": ("sorted by {column}", "trié par {column}"),
    "filter_status": ("Show status", "Afficher le statut"),
    "all_statuses": ("All", "Tous"),
    "filter_label": ("Filter tasks", "Filtrer les tâches"),
    "filter_rows": ("{shown} of {total} shown", "{shown} affichées sur {total}"),
    "task_table": ("Tasks of {project}", "Tâches de {project}"),
    "metadata": ("Details", "Détails"),
    "created": ("Created", "Créée"),
    "created_by": ("Created by", "Créée par"),
    "subscribers": ("Subscribers", "Abonnés"),
    "estimate": ("Estimate", "Estimation"),
    "tags": ("Tags", "Étiquettes"),
    "deliverable": ("Deliverable", "Livrable"),
    "change_request": ("Change request", "Demande de changement"),
    "attachments": ("Attachments", "Pièces jointes"),
    "comments": ("Comments", "Commentaires"),
    "no_comments": ("No comments.", "Aucun commentaire."),
    "comment_by": ("{name}, {date}", "{name}, {date}"),
    "time": ("Time", "Temps"),
    "no_time": ("No time logged.", "Aucun temps saisi."),
    "history": ("History", "Historique"),
    "no_history": ("No recorded history yet.", "Aucun historique pour l'instant."),
    # change requests
    "requested_by": ("Requested by", "Demandée par"),
    "requested_on": ("Requested on", "Demandée le"),
    "impact": ("Impact", "Impact"),
    "impact_hours": ("Hours", "Heures"),
    "impact_cost": ("Cost", "Coût"),
    "impact_shift": ("Due date shift", "Décalage de l'échéance"),
    "days_value": ("{n} days", "{n} jours"),
    "decision": ("Decision", "Décision"),
    "decided_by": ("Decided by {name} on {date}", "Décidée par {name} le {date}"),
    "no_decision": ("No decision yet.", "Pas encore de décision."),
    "implementing_tasks": ("Tasks", "Tâches"),
    "no_changes": ("No change requests.", "Aucune demande de changement."),
    # scope
    "baseline": ("Baseline", "Référence"),
    "baseline_line": ("Scope frozen on {date}.", "Périmètre figé le {date}."),
    "no_baseline": ("This project has no baseline.", "Ce projet n'a pas de référence de périmètre."),
    "tasks_after_baseline": ("Tasks added after the baseline", "Tâches ajoutées après la référence"),
    "no_tasks_after_baseline": ("No task was added after the baseline.", "Aucune tâche ajoutée après la référence."),
    "unapproved": ("not covered by an approved change request", "sans demande de changement approuvée"),
    "approved_impact": ("Approved impact", "Impact approuvé"),
    # reports
    "time_by_person": ("Time by person", "Temps par personne"),
    "time_by_month": ("Time by month", "Temps par mois"),
    "budget_vs_actual": ("Budget and actual", "Budget et réalisé"),
    "person": ("Person", "Personne"),
    "month": ("Month", "Mois"),
    "hours": ("Hours", "Heures"),
    "cost": ("Cost", "Coût"),
    "planned": ("Budget", "Budget"),
    "actual": ("Actual", "Réalisé"),
    "remaining": ("Remaining", "Reste"),
    "total": ("Total", "Total"),
    "expenses": ("Expenses", "Dépenses"),
    "no_expenses": ("No expenses.", "Aucune dépense."),
    "amount": ("Amount", "Montant"),
    "by": ("By", "Par"),
    "task": ("Task", "Tâche"),
    "date": ("Date", "Date"),
    "note": ("Note", "Note"),
    "billable": ("Billable", "Facturable"),
    "yes": ("yes", "oui"),
    "no": ("no", "non"),
    "time_entries": ("Time entries", "Saisies de temps"),
    "no_report": ("No time entries to report.", "Aucune saisie de temps à présenter."),
    "no_budget": ("No budget figures to show.", "Aucun chiffre de budget à afficher."),
    "chart_hours_by_person": ("Hours by person", "Heures par personne"),
    "chart_hours_by_month": ("Hours by month", "Heures par mois"),
    "chart_desc": (
        "Bar chart; the table below gives the same figures.",
        "Diagramme en barres ; le tableau ci-dessous donne les mêmes chiffres.",
    ),
    "csv_downloads": ("CSV downloads", "Téléchargements CSV"),
    "csv.time_by_person": ("Time by person", "Temps par personne"),
    "csv.time_by_month": ("Time by month", "Temps par mois"),
    "csv.time_entries": ("Time entries", "Saisies de temps"),
    "csv.expenses": ("Expenses", "Dépenses"),
    "hours_budget": ("Hours", "Heures"),
    "money_budget": ("Money (time and expenses)", "Montant (temps et dépenses)"),
    # meetings
    "attendees": ("Attendees", "Participants"),
    "decisions": ("Decisions", "Décisions"),
    "notes": ("Notes", "Notes"),
    "no_meetings": ("No meeting minutes.", "Aucun compte rendu."),
    # files
    "document": ("Document", "Document"),
    "path": ("Path", "Chemin"),
    "attached_to": ("Attached to", "Joint à"),
    "no_files": ("No files.", "Aucun fichier."),
    "not_available": ("(file not available)", "(fichier indisponible)"),
    # feedback
    "rating": ("Rating", "Note"),
    "rating_value": ("{n} out of 5", "{n} sur 5"),
    "response": ("Response from {name}, {date}", "Réponse de {name}, {date}"),
    "no_feedback": ("No feedback.", "Aucun retour."),
    # trail
    "no_events": ("No events yet.", "Aucun événement pour l'instant."),
    "trail_month": ("Trail: {month}", "Journal : {month}"),
    "trail_latest": ("Latest events", "Derniers événements"),
    "trail_months": ("By month", "Par mois"),
    "trail_month_count": ("{month} ({n} events)", "{month} ({n} événements)"),
    "trail_month_one": ("{month} (1 event)", "{month} (1 événement)"),
    "trail_pages": ("Trail pages", "Pages du journal"),
    "trail_newer": ("Newer: {month}", "Plus récent : {month}"),
    "trail_older": ("Older: {month}", "Plus ancien : {month}"),
    "commit_message": ("Commit message", "Message de commit"),
    # people
    "name": ("Name", "Nom"),
    "team": ("Team", "Équipe"),
    "role": ("Role", "Rôle"),
    "email": ("Email", "E-mail"),
    "phone": ("Phone", "Téléphone"),
    "rate": ("Rate", "Tarif"),
    "rate_hour": ("{amount} per hour", "{amount} de l'heure"),
    "rate_day": ("{amount} per day", "{amount} par jour"),
    "active": ("Active", "Actif"),
    "sees": ("Sees", "Voit"),
    "teams": ("Teams", "Équipes"),
    "kind": ("Kind", "Type"),
    "settings": ("Workspace settings", "Paramètres de l'espace"),
    "language": ("Language", "Langue"),
    "currency": ("Currency", "Devise"),
    "timezone": ("Time zone", "Fuseau horaire"),
    "paid_seats": ("Paid seats", "Sièges payants"),
    "reader_ratio": ("Readers per paid seat", "Lecteurs par siège payant"),
    "audiences": ("Audiences", "Publics"),
    "no_people": ("No people.", "Aucune personne."),
    # timeline
    "timeline_desc": (
        "Tasks as bars from creation to due date, milestones as diamonds; the table below lists the same dates.",
        "Les tâches en barres de la création à l'échéance, les jalons en losanges ; le tableau ci-dessous donne les mêmes dates.",
    ),
    "today": ("Build date", "Date de génération"),
    "no_timeline": ("No dated tasks or milestones.", "Aucune tâche ni jalon daté."),
    # search
    "search_label": ("Search this site", "Rechercher dans ce site"),
    "search_hint": ("Everything on this site, by kind.", "Tout le contenu du site, par type."),
    "kind.project": ("Project", "Projet"),
    "kind.task": ("Task", "Tâche"),
    "kind.change": ("Change request", "Demande de changement"),
    "kind.meeting": ("Meeting", "Réunion"),
    "kind.document": ("Document", "Document"),
    "kind.person": ("Person", "Personne"),
    "kind.feedback": ("Feedback", "Retour"),
    # enumerations
    "status.open": ("Open", "Ouverte"),
    "status.in-progress": ("In progress", "En cours"),
    "status.review": ("In review", "En revue"),
    "status.done": ("Done", "Terminée"),
    "status.cancelled": ("Cancelled", "Annulée"),
    "priority.low": ("Low", "Basse"),
    "priority.normal": ("Normal", "Normale"),
    "priority.high": ("High", "Haute"),
    "priority.urgent": ("Urgent", "Urgente"),
    "cr.proposed": ("Proposed", "Proposée"),
    "cr.approved": ("Approved", "Approuvée"),
    "cr.rejected": ("Rejected", "Refusée"),
    "cr.implemented": ("Implemented", "Réalisée"),
    "cr.withdrawn": ("Withdrawn", "Retirée"),
    "project.planned": ("Planned", "Prévu"),
    "project.active": ("Active", "En cours"),
    "project.on-hold": ("On hold", "En pause"),
    "project.done": ("Done", "Terminé"),
    "project.cancelled": ("Cancelled", "Annulé"),
    "milestone.open": ("Open", "Ouvert"),
    "milestone.ready": ("Ready for sign-off", "Prêt à valider"),
    "milestone.signed-off": ("Signed off", "Validé"),
    "deadline.task": ("Task", "Tâche"),
    "deadline.milestone": ("Milestone", "Jalon"),
    "deadline.deliverable": ("Deliverable", "Livrable"),
    "sort.id": ("ID", "ID"),
    "sort.title": ("Title", "Titre"),
    "sort.status": ("Status", "Statut"),
    "sort.priority": ("Priority", "Priorité"),
    "sort.assignee": ("Assignee", "Responsable"),
    "sort.due": ("Due", "Échéance"),
    "team.internal": ("internal", "interne"),
    "team.client": ("client", "client"),
    "team.freelancer": ("freelancer", "indépendant"),
    # iCalendar and feed texts
    "ical.task_due": ("{id} due: {title}", "Échéance {id} : {title}"),
    "ical.milestone": ("Milestone: {title}", "Jalon : {title}"),
    "ical.deliverable": ("Deliverable due: {title}", "Livrable attendu : {title}"),
    "ical.meeting": ("{project}: {title}", "{project} : {title}"),
    "ical.schedule": ("{project}: regular meeting", "{project} : réunion régulière"),
    # trail events (history)
    "ev.created": ("{what} created", "{what} : création"),
    "ev.deleted": ("{what} deleted", "{what} : suppression"),
    "ev.renamed": ("{what} renamed", "{what} : renommage"),
    "ev.changed": ("{what}: {field} {old} → {new}", "{what} : {field} {old} → {new}"),
    "ev.edited": ("{what}: {field} edited", "{what} : {field} modifié"),
    "ev.comment": ("comment {id} added on {task}", "commentaire {id} ajouté sur {task}"),
    "ev.decided": ("{what} {decision}", "{what} : décision « {decision} »"),
    "ev.signed_off": ("milestone {id} signed off", "jalon {id} validé"),
    "ev.time": ("time logged on {task}", "temps saisi sur {task}"),
    "ev.someone": ("someone", "quelqu’un"),
    "ev.nothing": ("(none)", "(aucun)"),
    "ev.kind.comment": ("comment {id} on {task}", "commentaire {id} sur {task}"),
    "ev.kind.time": ("time on {task}", "temps sur {task}"),
    "ev.kind.expense": ("expense", "dépense"),
    "ev.kind.document": ("document {id}", "document {id}"),
    "ev.kind.meeting": ("meeting {id}", "réunion {id}"),
    "ev.kind.milestone": ("milestone {id}", "jalon {id}"),
    "ev.kind.feedback": ("feedback {id}", "retour {id}"),
    "ev.kind.project": ("project {id}", "projet {id}"),
    "ev.kind.person": ("person {id}", "personne {id}"),
    "ev.kind.team": ("team {id}", "équipe {id}"),
    "ev.kind.settings": ("workspace settings", "réglages de l’espace"),
}


class UnknownString(KeyError):
    """A UI string key that is not in the table (a programming error, caught by the tests)."""


def strings(lang: Lang) -> dict[str, str]:
    """Every UI string in one language, keyed by its id."""
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in _STRINGS.items()}


def string_keys() -> frozenset[str]:
    """The ids of all UI strings."""
    return frozenset(_STRINGS)


def _round(value: float, places: int) -> Decimal:
    # Decimal of the shortest repr, rounded half up: 0.125 -> 0.13 everywhere, unlike float rounding.
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


@dataclass(frozen=True)
class Formatter:
    """UI strings and value formats for one language, currency and time zone."""

    lang: Lang = "en"
    currency: str = "EUR"
    timezone: str = "UTC"

    def t(self, key: str, **values: object) -> str:
        """The UI string `key` in this language, with `{name}` placeholders filled in."""
        try:
            text = _STRINGS[key][LANGUAGES.index(self.lang)]
        except KeyError:
            raise UnknownString(key) from None
        return text.format(**values) if values else text

    # -- numbers ----------------------------------------------------------------------------------

    def number(self, value: float, places: int = 2, *, trim: bool = True) -> str:
        """A number with `places` decimals (trailing zeros dropped when `trim`), grouped per language."""
        rounded = _round(value, places)
        sign = "-" if rounded < 0 else ""
        text = f"{abs(rounded):f}"
        whole, _, fraction = text.partition(".")
        if trim:
            fraction = fraction.rstrip("0")
        separator, decimal = (",", ".") if self.lang == "en" else (NNBSP, ",")
        grouped = _group(whole, separator)
        return f"{sign}{grouped}{decimal}{fraction}" if fraction else f"{sign}{grouped}"

    def hours(self, value: float) -> str:
        """Hours, e.g. "12.5 h" / "12,5 h"."""
        return f"{self.number(value)}{NBSP}h"

    def percent(self, value: float) -> str:
        """A whole percentage: "45%" / "45 %"."""
        text = self.number(value, 0)
        return f"{text}%" if self.lang == "en" else f"{text}{NNBSP}%"

    def money(self, value: float) -> str:
        """An amount in the workspace currency: "€1,234.50" / "1 234,50 €"."""
        places = 0 if self.currency in _NO_MINOR_UNIT else 2
        text = self.number(abs(value), places, trim=False)
        sign = "-" if _round(value, places) < 0 else ""
        symbol = _SYMBOLS.get(self.currency)
        if self.lang == "fr":
            return f"{sign}{text}{NBSP}{symbol or self.currency}"
        if symbol is not None:
            return f"{sign}{symbol}{text}"
        return f"{sign}{self.currency}{NBSP}{text}"

    # -- dates ------------------------------------------------------------------------------------

    def date(self, value: dt.date) -> str:
        """A calendar date: "3 March 2026" / "3 mars 2026" ("1er mars 2026")."""
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        day = f"{value.day}"
        if self.lang == "fr" and value.day == 1:
            day = "1er"
        return f"{day} {_MONTHS[self.lang][value.month - 1]} {value.year}"

    def date_short(self, value: dt.date) -> str:
        """Day and short month: "3 Mar" / "3 mars"."""
        return f"{value.day} {_MONTHS_SHORT[self.lang][value.month - 1]}"

    def month(self, year: int, month: int) -> str:
        """A month: "March 2026" / "mars 2026"."""
        return f"{_MONTHS[self.lang][month - 1]} {year}"

    def month_short(self, year: int, month: int) -> str:
        """A short month for chart axes: "Mar 2026" / "mars 2026"."""
        return f"{_MONTHS_SHORT[self.lang][month - 1]} {year}"

    def weekday(self, weekday_id: str) -> str:
        """A weekday name from its id ("thursday" -> "Thursday" / "jeudi")."""
        return _WEEKDAYS[self.lang][WEEKDAY_IDS.index(weekday_id)]

    def local(self, value: dt.datetime, timezone: str | None = None) -> dt.datetime:
        """A date-time moved to `timezone` (default: the workspace time zone)."""
        return value.astimezone(ZoneInfo(timezone or self.timezone))

    def time(self, value: dt.datetime, timezone: str | None = None) -> str:
        """The clock time in `timezone` (default: the workspace's), 24-hour, with the zone abbreviation."""
        local = self.local(value, timezone)
        return f"{local:%H:%M} {local.tzname() or ''}".rstrip()

    def datetime(self, value: dt.datetime, timezone: str | None = None) -> str:
        """A date and time: "5 March 2026, 10:00 CET" / "5 mars 2026 à 10:00 CET"."""
        return _datetime_text(self, value, timezone)


# A site shows each event's time on several pages (its task's, the trail, the project's timeline).
@functools.lru_cache(maxsize=1 << 16)
def _datetime_text(fmt: Formatter, value: dt.datetime, timezone: str | None) -> str:
    local = fmt.local(value, timezone)
    joiner = ", " if fmt.lang == "en" else " à "
    return f"{fmt.date(local.date())}{joiner}{local:%H:%M} {local.tzname() or ''}".rstrip()
