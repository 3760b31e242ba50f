"""Writes password_spray_security.jsonl: a synthetic password-spraying run, made up by sigcc.

One log-cleared event (Security 1102), then 119 explicit-credential logons (Security 4648)
from one workstation: user `alice` at 10.20.30.40 tries 40 made-up account names in turn,
one attempt about every 1.07 s, in the EVTX-JSON shape sigcc's EVTX reader gives. Every
name, address and identifier is invented; nothing is copied from a real log. Deterministic:
`python examples/logs/make_password_spray.py` rewrites the same bytes.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 1, 15, 9, 0, 0, 250000, tzinfo=timezone.utc)
HOST = "WS-EXAMPLE-01"
SID = "S-1-5-21-1111111111-2222222222-3333333333-1001"
ACCOUNTS = [f"user{n:03d}" for n in range(1, 41)]


def _system(event_id: int, record: int, when: datetime, provider: str) -> dict:
    return {"Provider": {"#attributes": {"Name": provider}}, "EventID": event_id, "Version": 0,
            "Level": 0, "Task": 12544, "Opcode": 0, "Keywords": "0x8020000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": when.isoformat().replace("+00:00", "Z")}},
            "EventRecordID": record, "Channel": "Security", "Computer": HOST, "Security": None}


def events() -> list[dict]:
    out = [{"Event": {"System": _system(1102, 1000, START, "Microsoft-Windows-Eventlog"),
                      "UserData": {"LogFileCleared": {"SubjectUserSid": SID,
                                                      "SubjectUserName": "alice",
                                                      "SubjectDomainName": HOST,
                                                      "SubjectLogonId": "0x3e7aa"}}}}]
    for i in range(119):
        when = START + timedelta(seconds=2.5 + i * 1.07)
        out.append({"Event": {
            "System": _system(4648, 1001 + i, when, "Microsoft-Windows-Security-Auditing"),
            "EventData": {
                "SubjectUserSid": SID, "SubjectUserName": "alice", "SubjectDomainName": HOST,
                "SubjectLogonId": "0x3e7aa", "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
                "TargetUserName": ACCOUNTS[i % len(ACCOUNTS)], "TargetDomainName": "EXAMPLE",
                "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}",
                "TargetServerName": "dc01.example.test", "TargetInfo": "dc01.example.test",
                "ProcessId": "0x4", "ProcessName": "", "IpAddress": "10.20.30.40",
                "IpPort": str(49152 + i)}}})
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("password_spray_security.jsonl")
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events()),
                    encoding="utf-8")
