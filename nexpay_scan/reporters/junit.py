"""`--format junit`: JUnit XML, one failing test case per finding, for CI test views."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from nexpay_scan.findings import Finding
from nexpay_scan.reporters import Report, display_path, skipped_lines, suppressed_line
from nexpay_scan.reporters.remediation import REMEDIATION
from nexpay_scan.reporters.text import finding_block

SUITE = "nexpay-scan"
# Characters XML 1.0 cannot hold at all, not even escaped (C0 controls but tab and newlines,
# surrogates, U+FFFE/U+FFFF): shown as escapes instead, like `display_path` does.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML 1.0 forbids written as a visible escape."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def render(report: Report) -> str:
    """The whole report as one JUnit XML document (a passing case when nothing is found)."""
    cases = [testcase(finding, report) for finding in report.findings] or [
        ET.Element("testcase", classname=SUITE, name="no Nexpay credentials found", time="0")
    ]
    totals = {
        "name": SUITE,
        "tests": str(len(cases)),
        "failures": str(len(report.findings)),
        "time": f"{report.summary.duration:.3f}",
    }
    root = ET.Element("testsuites", totals)
    skipped = [_skipped_case(line) for line in skipped_lines(report)]
    skipped += [_skipped_case(suppressed_line(f, report)) for f in report.suppressed]
    totals["tests"] = str(len(cases) + len(skipped))
    root.set("tests", totals["tests"])
    suite = ET.SubElement(
        root, "testsuite", {**totals, "errors": "0", "skipped": str(len(skipped))}
    )
    suite.extend(cases)
    suite.extend(skipped)
    if report.notes:
        ET.SubElement(suite, "system-out").text = xml_text("\n".join(report.notes))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _skipped_case(line: str) -> ET.Element:
    """A skipped test case: content not scanned whole, or a suppressed finding."""
    case = ET.Element("testcase", classname=SUITE, name=xml_text(line), time="0")
    ET.SubElement(case, "skipped", message=xml_text(line))
    return case


def testcase(finding: Finding, report: Report) -> ET.Element:
    """One failing test case: named by place and rule, the credential as `report.shown`."""
    where = f"{display_path(finding.file)}:{finding.line}"
    shown = report.shown(finding.secret.reveal())
    case = ET.Element(
        "testcase",
        classname=xml_text(f"{SUITE}.{finding.rule_id}"),
        name=xml_text(f"{where}:{finding.column} {finding.rule_id}"),
        file=xml_text(display_path(finding.file)),
        line=str(finding.line),
        time="0",
    )
    failure = ET.SubElement(
        case,
        "failure",
        type=xml_text(finding.rule_id),
        message=xml_text(
            f"{finding.rule_id}: {finding.description} at {where}: {shown} "
            f"(status: {finding.status})"
        ),
    )
    failure.text = xml_text(f"{finding_block(finding, report)}\n\n{REMEDIATION}")
    return case
