"""The words the seed generator puts in tickets: names, companies, subjects, replies.

Kept apart from :mod:`sandbox.seed` so the generator reads as a story of a
ticket's life and this file reads as a phrase book. Templates use
``str.format`` fields filled from :data:`SLOTS`; a few strings carry non-ASCII
text and HTML on purpose, because real helpdesks are full of both.
"""

from __future__ import annotations

import random

FIRST_NAMES = [
    "Alice", "Ben", "Chloé", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Ingrid", "Jürgen",
    "Kavya", "Liam", "Maëlle", "Noah", "Olga", "Pedro", "Qin", "Rosa", "Søren", "Tomás",
    "Uma", "Victor", "Wanjiru", "Xavier", "Yara", "Zoë", "Łukasz", "François", "Ángela", "Priya",
]
LAST_NAMES = [
    "Anderson", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ivanova",
    "Johnson", "Kowalczyk", "Lee", "Müller", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Varga", "Weiß", "Núñez", "Østergaard", "Young", "Zhang",
]
# Whole names written in their own script, used now and then instead of first + last.
NATIVE_SCRIPT_NAMES = ["田中 陽子", "佐藤 健", "김민준", "Αλέξανδρος Παπαδόπουλος", "Дмитрий Соколов"]

COMPANY_STEMS = [
    "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Acme Widgets",
    "Blue Harbor", "Silverline", "Redwood", "Nimbus", "Helios", "Orbital", "Pinecrest", "Lumen",
    "Vertex", "Quantum Leaf", "Granite", "Evergreen", "Zürich Logistik", "Café Lumière",
    "São Paulo Fintech", "Kyōto Robotics", "東京データ", "Brightwater", "Ironclad", "Meridian",
]
COMPANY_SUFFIXES = ["Inc.", "Ltd", "GmbH", "AG", "SARL", "LLC", "Group", "株式会社", "S.A.", "Health"]
INDUSTRY_WORDS = ["health", "bank", "retail", "logistics", "media", "energy", "labs", "cloud"]

SLOTS = {
    "error": ["HTTP 500", "HTTP 503", "a timeout", "ERR_CONNECTION_RESET", "error 0x80070005", "a blank page"],
    "integration": ["Salesforce sync", "Slack app", "SSO (Okta)", "webhook", "SFTP export", "Azure AD provisioning"],
    "platform": ["iOS", "Android", "the web app", "the Windows agent"],
    "version": ["4.2.1", "4.3.0", "5.0.0-beta", "3.9.7"],
    "region": ["EU-West", "US-East", "APAC", "eu-central-1"],
    "count": ["12", "40", "250", "1,200", "3"],
    "invoice": ["INV-20418", "INV-20977", "INV-31002", "INV-18845"],
    "endpoint": ["/v2/orders", "/v2/customers/search", "/v1/export", "/v2/webhooks"],
}

# product area -> list of (subject, description) templates
AREA_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "billing": [
        ("Charged twice on invoice {invoice}", "Our card was charged twice for {invoice}. Please refund the duplicate charge."),
        ("Need a copy of invoice {invoice} with our VAT number", "Finance needs {invoice} re-issued with our VAT id on it."),
        ("Seat count on our bill looks wrong", "We have {count} active users but were billed for more seats. Can you check?"),
        ("Renewal quote for next year", "Could you send the renewal quote? Procurement needs it by the end of the month."),
    ],
    "api": [
        ("{endpoint} returns {error} intermittently", "Since this morning about one call in ten to {endpoint} fails with {error}."),
        ("Rate limit hit far below our plan", "We are throttled at {count} requests per minute, well below our contract."),
        ("Pagination skips records on {endpoint}", "When paging through {endpoint} some records never show up."),
        ("API token stopped working", "Our integration token is rejected with 401 since we rotated keys."),
    ],
    "mobile": [
        ("App crashes on launch after update to {version}", "On {platform} the app closes right after the splash screen since {version}."),
        ("Push notifications not arriving on {platform}", "Several of our {count} field users get no notifications on {platform}."),
        ("Offline mode loses edits", "Edits made offline on {platform} disappear when the device reconnects."),
    ],
    "platform": [
        ("Dashboard very slow in {region}", "Loading the main dashboard takes over a minute for users in {region}."),
        ("Cannot export report to CSV", "Export to CSV ends with {error} for reports over {count} rows."),
        ("SSO login loop", "After signing in through SSO users are sent back to the login page."),
        ("Question about data retention settings", "How long do you keep audit logs, and can we shorten it?"),
    ],
    "integrations": [
        ("{integration} stopped syncing", "The {integration} integration has not synced since yesterday, last error {error}."),
        ("Duplicate records created by {integration}", "{integration} creates a duplicate for every record edited on our side."),
        ("How to map custom fields in {integration}?", "We would like to map two custom fields through {integration}."),
    ],
}
# Generic requests for the few tickets with no product area.
GENERIC_TEMPLATES = [
    ("Question about our account", "Who is our account manager now? We have a few questions about the roadmap."),
    ("Please update our billing contact", "Our billing contact changed, please update it to our finance team."),
]

# The phrases the default escalation policy looks for.
URGENT_TEMPLATES = [
    ("Outage: {endpoint} down in {region}", "Complete outage since {time}: every call fails with {error}. Production is down."),
    ("Platform down for all users", "The application is down for all users in our company. Nobody can log in."),
    ("Possible security breach on an admin account", "We see logins from an unknown country on an admin account. Possible security breach."),
    ("Data leak? Other customers' records visible", "One of our users can see another company's records. This looks like a data leak."),
]
ESCALATION_REQUESTS = [
    "This has taken far too long. Please escalate this ticket.",
    "I would like to speak to a manager about this issue.",
    "Can you escalate this? Our leadership is asking for an update every hour.",
    "We need this escalated, it is blocking our month-end close.",
]

FIRST_REPLIES = [
    "Thanks for reaching out, {name}. I'm looking into this now.",
    "Hi {name}, thanks for the details. I have reproduced the problem and I'm investigating.",
    "Hello {name}, I'm sorry for the trouble. Let me check our logs.",
]
QUESTIONS = [
    "Could you send us a screenshot and the exact time this happened?",
    "Can you share the request id from the response headers?",
    "Which browser and version are your users on?",
    "Could you confirm the affected user ids?",
]
CUSTOMER_REPLIES = [
    "Here are the details you asked for. It happened again at around 10:15.",
    "Attached the screenshot. Request id is 7f3a-22c1.",
    "We are on Chrome 126, same on Edge.",
    "Any update on this? It is still happening.",
    "Thanks, that helps a bit but the problem is not fully gone.",
]
INTERNAL_NOTES = [
    "Looks related to last night's deploy; checking with engineering.",
    "Customer is on an older plan; verifying entitlement.",
    "Reproduced on staging. Logs attached to the engineering ticket.",
    "Checked with billing: the second charge is a pre-authorisation.",
]
HOLD_NOTES = [
    "Waiting on engineering fix, ticket on hold until release.",
    "Vendor case opened; on hold until the vendor answers.",
]
AGENT_FLAG_NOTES = ["Flagging for escalation: customer impact is growing.", "Raising this internally, needs tier 2 eyes."]
RESOLUTIONS = [
    "A fix has been deployed. Please let us know if you still see the problem.",
    "We refunded the duplicate charge; it will appear in 3-5 business days.",
    "The configuration has been corrected on our side. Closing this for now.",
]
REOPEN_REPLIES = ["Sorry, this is broken again since this morning.", "The fix did not work for us, same error."]

I18N_LINES = [
    "Grüße aus Zürich, die Lösung wäre dringend.",
    "Merci beaucoup, l'équipe est bloquée depuis hier.",
    "至急ご確認をお願いいたします。",
    "¿Pueden revisarlo hoy? Gracias.",
]
HUMAN_TAGS = ["vip", "billing_dispute", "renewal", "needs_translation", "follow_up", "feature_request", "churn_risk"]


class SlotValues(dict):
    """Slot values chosen on first use and then kept, so a subject and its description agree."""

    def __init__(self, rng: random.Random, **fixed: str):
        super().__init__(fixed)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        value = self[key] = self.rng.choice(SLOTS[key])
        return value


def fill(template: str, values: SlotValues) -> str:
    """A template with every slot filled from ``values``."""
    return template.format_map(values)


def person_name(rng: random.Random) -> str:
    """A plausible person's name; about one in twelve in a non-Latin script."""
    if rng.random() < 0.08:
        return rng.choice(NATIVE_SCRIPT_NAMES)
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def company_name(rng: random.Random, number: int) -> str:
    """A company name, unique per number so accounts are told apart."""
    stem = COMPANY_STEMS[number % len(COMPANY_STEMS)]
    round_ = number // len(COMPANY_STEMS)
    suffix = rng.choice(COMPANY_SUFFIXES)
    return f"{stem} {suffix}" if round_ == 0 else f"{stem} {rng.choice(INDUSTRY_WORDS).title()} {round_} {suffix}"


def htmlify(text: str, rng: random.Random) -> str:
    """Text as a pasted-from-email HTML fragment, the way some descriptions arrive."""
    steps = rng.sample(["Open the dashboard", "Click Export", "Wait 30 seconds", "See the error"], 3)
    items = "".join(f"<li>{step}</li>" for step in steps)
    return f"<p>{text}</p><p><b>Steps:</b></p><ul>{items}</ul><p>Thanks,<br>IT team</p>"
