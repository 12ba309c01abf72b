#!/usr/bin/env python3
"""Writes fetchers/integrations/{urlhaus,feodotracker,openphish}/expected.jsonl.

An implementation independent of the Rust code under test: the canonical values below are
written by hand from the recordings (see the comments), and ids and times are computed here
with Python's uuid.uuid5 over the JCS-canonical JSON of the STIX ID-contributing properties.
Run from the repository root: python3 normalizer/scripts/expected_outcomes.py
"""
import json
import uuid
from datetime import datetime, timezone

NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
DAY_MS = 86_400_000
# The conformance test normalizes at the recordings' fetch time, 2024-05-01T12:00:00Z.
NOW_MS = int(datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp() * 1000)


def status(valid_until_ms):
    """Schema v3 status: expired once valid_until is past (none of these sources revokes)."""
    return "expired" if valid_until_ms is not None and valid_until_ms <= NOW_MS else "active"


def v3(indicator, valid_until_ms):
    """Adds the schema v3 fields: no IDNA value here, public addresses only (no flags)."""
    indicator["value_unicode"] = None
    indicator["status"] = status(valid_until_ms)
    indicator["flags"] = []
    return {"indicator": indicator}


def stix_id(stix_type, obj):
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return f"{stix_type}--{uuid.uuid5(NS, text)}"


def ms(text, fmt):
    return int(datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp() * 1000)


def dump(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


# URLhaus: 9 comment lines, then 8 CSV rows.
DT = "%Y-%m-%d %H:%M:%S"


def urlhaus(rid, value, added, last, tags):
    first = ms(added, DT)
    last_ms = ms(last, DT) if last else None
    link = f"https://urlhaus.abuse.ch/url/{rid}/"
    valid_until = (last_ms if last_ms is not None else first) + 30 * DAY_MS
    return v3({
        "id": stix_id("url", {"value": value}),
        "type": "url",
        "value": value,
        "port": None,
        "source": "urlhaus",
        "source_ref": link,
        "first_seen_ms": first,
        "last_seen_ms": last_ms,
        "confidence": 80,
        "tlp": "clear",
        "tags": tags,
        "threat_types": ["malware_download"],
        "malware_families": [],
        "references": [link],
        "valid_until_ms": valid_until,
    }, valid_until)


urlhaus_lines = [{"skip": "comment"}] * 9 + [
    urlhaus("2849530", "http://115.55.237.17:43145/i", "2024-05-01 11:58:05",
            "2024-05-01 11:58:05", ["32-bit", "elf", "mips", "Mozi"]),
    urlhaus("2849529", "http://182.121.41.248:51592/bin.sh", "2024-05-01 11:57:09",
            "2024-05-01 11:57:09", ["32-bit", "elf", "mips", "Mozi"]),
    # Host lower-cased, path untouched.
    urlhaus("2849528", "https://download.example-cdn.com/files/Invoice_0501.zip",
            "2024-05-01 11:52:06", "2024-05-01 11:52:06", ["zip", "AgentTesla"]),
    # Empty last_online: absent, so valid_until counts from first seen.
    urlhaus("2849527", "http://45.95.147.236/x86_64", "2024-05-01 11:47:11", "",
            ["elf", "Gafgyt"]),
    # The default port :80 of http is dropped.
    urlhaus("2849526", "http://update-check.example.net/gate.php?id=7", "2024-05-01 11:40:02",
            "2024-05-01 11:40:02", ["exe", "SmokeLoader"]),
    {"dead_letter": "invalid_value"},  # "not a url"
    {"dead_letter": "unparseable"},    # 4 fields for 9 columns
    urlhaus("2849523", "http://103.178.229.150/arm7", "2024-05-01 11:30:00",
            "2024-05-01 11:30:00", ["elf", "Mirai"]),
]


# Feodo Tracker: 6 JSON elements.
def feodo(ip, port, first, last, malware):
    first_ms = ms(first, DT) if first else None
    last_ms = ms(last, "%Y-%m-%d")  # date only: midnight UTC
    return v3({
        "id": stix_id("ipv4-addr", {"value": ip}),  # the port is not part of the id
        "type": "ipv4",
        "value": ip,
        "port": port,
        "source": "feodotracker",
        "source_ref": None,
        "first_seen_ms": first_ms,
        "last_seen_ms": last_ms,
        "confidence": 90,
        "tlp": "clear",
        "tags": [],
        "threat_types": ["botnet_cc"],
        "malware_families": [malware],
        "valid_until_ms": last_ms + 30 * DAY_MS,
    }, last_ms + 30 * DAY_MS)


feodo_lines = [
    feodo("162.243.103.246", 8080, "2022-06-08 02:22:17", "2024-05-01", "Emotet"),
    feodo("50.16.54.98", 443, "2023-11-21 17:10:54", "2024-04-29", "QakBot"),
    feodo("87.251.67.168", 2222, None, "2024-05-01", "Pikabot"),  # no first_seen
    {"dead_letter": "invalid_value"},  # 300.12.7.1
    feodo("139.59.126.41", 443, "2024-03-02 11:47:30", "2024-05-01", "BumbleBee"),  # "443"
    {"dead_letter": "missing_field"},  # no ip_address
]


# OpenPhish: 8 lines; no times in the feed, so valid_until depends on the clock (not listed).
def phish(value):
    # valid_until is now + 7 days: in the future, so active.
    return v3({
        "id": stix_id("url", {"value": value}),
        "type": "url",
        "value": value,
        "port": None,
        "source": "openphish",
        "first_seen_ms": None,
        "last_seen_ms": None,
        "confidence": 70,
        "tlp": "clear",
        "tags": [],
        "threat_types": ["phishing"],
    }, NOW_MS + 7 * DAY_MS)


openphish_lines = [
    phish("https://secure-login.example-bank.com.verify-account.info/signin/"),
    phish("https://appleid.apple.com.session-check.example.org/login.php"),
    phish("http://paypal-resolution.example.co/webapps/mpp/"),
    {"skip": "blank"},
    phish("https://microsoft-365-auth.example.web.app/?login=user%40contoso.com"),
    # Defanged in the feed: hxxps and [.] refanged.
    phish("https://dhl-parcel-tracking.example.com/track"),
    {"dead_letter": "invalid_value"},  # "not a url at all"
    phish("https://www.example-shop.xyz/wp-admin/includes/netflix/"),
]

base = "fetchers/integrations"
dump(f"{base}/urlhaus/expected.jsonl", urlhaus_lines)
dump(f"{base}/feodotracker/expected.jsonl", feodo_lines)
dump(f"{base}/openphish/expected.jsonl", openphish_lines)
