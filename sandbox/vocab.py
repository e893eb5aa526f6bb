"""The native vocabulary of the seeded sandbox instances.

This is the contract between the seed generator, the four emulators and the
default files in ``mapping/``: every native status, priority, group and custom
field the sandbox emits is listed here, and a test checks that the shipped
mapping files cover all of them. Logical names (the keys of the group tables,
the normalized statuses and priorities) are what the policy speaks.
"""

from __future__ import annotations

# Logical support groups and the escalation ladder the default policy climbs.
GROUPS = ["l1", "tier2", "tier3", "security", "billing", "management"]
LADDER = ["l1", "tier2", "tier3", "management"]
PRODUCT_AREAS = ["billing", "api", "mobile", "platform", "integrations"]

ZENDESK = {
    "subdomain": "acme",
    # normalized status -> native status
    "status": {"new": "new", "open": "open", "pending": "pending", "on_hold": "hold", "solved": "solved", "closed": "closed"},
    "priority": {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"},
    "groups": {  # logical -> (native id, name)
        "l1": (360000001, "L1 Support"),
        "tier2": (360000002, "Tier 2 Support"),
        "tier3": (360000003, "Tier 3 Engineering"),
        "security": (360000004, "Security Response"),
        "billing": (360000005, "Billing Specialists"),
        "management": (360000006, "Support Management"),
    },
    "custom_fields": {  # mapping name -> native custom field id
        "product_area": 360010001,  # dropdown; values are the PRODUCT_AREAS tags, e.g. "pa_billing"
        "escalation_flag": 360010002,  # checkbox set by an agent
        "customer_escalation_request": 360010003,  # checkbox
        "salesforce_account_id": 360010004,  # text
    },
    "product_area_values": {area: f"pa_{area}" for area in PRODUCT_AREAS},
}

SERVICENOW = {
    "instance": "acme",
    # normalized status -> (state value, display value). "pending" is On Hold awaiting the caller.
    "status": {
        "new": ("1", "New"),
        "open": ("2", "In Progress"),
        "on_hold": ("3", "On Hold"),
        "solved": ("6", "Resolved"),
        "closed": ("7", "Closed"),
    },
    # pending = state 3 with hold_reason 1 (Awaiting Caller); other hold reasons are on_hold.
    "hold_reason": {"1": "Awaiting Caller", "3": "Awaiting Problem", "4": "Awaiting Vendor", "5": "Awaiting Change"},
    "priority": {"urgent": ("1", "1 - Critical"), "high": ("2", "2 - High"), "normal": ("3", "3 - Moderate"), "low": ("4", "4 - Low")},
    "groups": {  # logical -> (sys_id, name)
        "l1": ("d625dccec0a8016700a222a0f7900d06", "Service Desk"),
        "tier2": ("287ebd7da9fe198100f92cc8d1d2154e", "Tier 2 Support"),
        "tier3": ("8a5055c9c61122780043563ef53438e3", "Tier 3 Engineering"),
        "security": ("019ad92ec7230010393d265c95c260dd", "Security Incident Response"),
        "billing": ("a715cd759f2002002920bde8132e7018", "Billing"),
        "management": ("b85d44954a3623120004689b2d5dd60a", "Support Management"),
    },
    "custom_fields": {  # mapping name -> incident column
        "product_area": "u_product_area",  # choice; values are PRODUCT_AREAS
        "escalation_flag": "u_escalation_flag",  # true/false
        "customer_escalation_request": "u_customer_escalation",  # true/false
        "salesforce_account_id": "u_sf_account_id",  # string
    },
}

JIRA = {
    "project": "SUP",
    "service_desk_id": "1",
    # normalized status -> native status name
    "status": {
        "new": "Open",
        "open": "Waiting for support",
        "pending": "Waiting for customer",
        "on_hold": "Pending",
        "solved": "Resolved",
        "closed": "Closed",
    },
    "extra_open_statuses": ["In Progress", "Escalated"],  # also normalize to "open"
    "priority": {"low": "Low", "normal": "Medium", "high": "High", "urgent": "Highest"},
    "extra_priorities": {"Lowest": "low"},
    # JSM has no group on an issue; routing uses a single-select "Support team" field.
    "groups": {  # logical -> option value of the team field
        "l1": "L1 Support",
        "tier2": "Tier 2 Support",
        "tier3": "Tier 3 Engineering",
        "security": "Security Response",
        "billing": "Billing Specialists",
        "management": "Support Management",
    },
    "custom_fields": {  # mapping name -> (field id, field name)
        "team": ("customfield_10050", "Support team"),  # select {"value": ...}
        "product_area": ("customfield_10051", "Product area"),  # select {"value": area}
        "escalation_flag": ("customfield_10052", "Escalation flag"),  # checkboxes [{"value": "Yes"}] or null
        "customer_escalation_request": ("customfield_10053", "Customer requested escalation"),  # same shape
        "salesforce_account_id": ("customfield_10054", "Salesforce account"),  # text
        "request_type": ("customfield_10010", "Request Type"),
        "sla_first_response": ("customfield_10020", "Time to first response"),  # JSM SLA field
        "sla_resolution": ("customfield_10021", "Time to resolution"),  # JSM SLA field
    },
}

SALESFORCE = {
    "tier_field": "Support_Tier__c",
    "segment_field": "Customer_Segment__c",
    # CRM picklist value -> policy tier
    "tiers": {"Premier Support": "premier", "Business Support": "business", "Standard Support": "standard"},
    "segments": ["Enterprise", "Mid-Market", "SMB", "Public Sector"],
    "default_tier": "standard",
}
