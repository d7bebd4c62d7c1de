"""Korean output and the KISA form beyond one host's table (docs/i18n-kisa.md):

- `jikimi fleet report --format kisa` from the findings of the 24 simulated hosts in moto
  (fleet_data.py), with a checks directory that places the fleet's checks on KISA items:
  hosts counted 양호/취약/N/A per item, 취약 hosts named, a waived failure counted 취약,
  byte-stable;
- the fleet report with `--lang ko`: Korean headings, check titles from the catalog's
  `title_ko`, JSON keys unchanged;
- ASFF with `--lang ko`: `Description` and `Remediation.Recommendation.Text` from the Korean
  text, enumerations English;
- headless Chromium renders the Korean HTML (per-host report, KISA form of a host and of the
  fleet, fleet report) with a real Hangul font: distinct syllables draw distinct glyphs in
  the page's own font stack, unlike the boxes of characters no font has (tofu)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fleet_data as fd
from conftest import REPO, boto, chromium, make_root, screenshot

NOW = fd.ts(fd.NOW)

# The fleet's checks on KISA items (2021 / 2026), with Korean text for two of them.
FLEET_CHECKS = """area = "fleet"

[[check]]
id = "C-01"
title = "C-01 holds"
title_ko = "C-01 한국어 제목"
severity = "critical"
description = "Test check C-01."
description_ko = "시험용 점검 C-01."
remediation = "Fix C-01."
remediation_ko = "C-01을 조치하십시오."
references = { kisa = ["U-01"], kisa2026 = ["U-01"] }
expect = { probe = "file", path = "/etc/c01", exists = false }

[[check]]
id = "C-02"
title = "C-02 holds"
severity = "high"
description = "Test check C-02."
remediation = "Fix C-02."
references = { kisa = ["U-44"], kisa2026 = ["U-05"] }
expect = { probe = "file", path = "/etc/c02", exists = false }

[[check]]
id = "C-03"
title = "C-03 holds"
title_ko = "C-03 한국어 제목"
severity = "high"
description = "Test check C-03."
remediation = "Fix C-03."
references = { kisa = ["U-44"], kisa2026 = ["U-05"] }
expect = { probe = "file", path = "/etc/c03", exists = false }

[[check]]
id = "C-04"
title = "C-04 holds"
severity = "medium"
description = "Test check C-04."
remediation = "Fix C-04."
references = { kisa = ["U-07"], kisa2026 = ["U-16"] }
expect = { probe = "file", path = "/etc/c04", exists = false }
"""


def fleet_config(jk):
    checks = jk.tmp / "checks.d"
    checks.mkdir(exist_ok=True)
    (checks / "fleet.toml").write_text(FLEET_CHECKS)
    return jk.config(f'[agent]\nchecks_dir = "{checks}"\n\n[securityhub]\nrefresh_interval_secs = 86400\n')


def fleet_report(jk, *extra, fmt="md"):
    return jk.run("fleet", "report", "--since", "24h", "--format", fmt, "--config", fleet_config(jk),
                  "--now", NOW, *extra, codes=(0,)).stdout


def hosts(nums):
    return ", ".join(f"h{i:02d}.fleet.example" for i in sorted(nums))


def row(md, code):
    rows = [line for line in md.splitlines() if line.startswith(f"| {code} |")]
    assert len(rows) == 1, md
    return rows[0]


def test_fleet_kisa_form_from_moto(jk, aws, moto):
    fd.import_fleet(boto(moto, "securityhub"))
    md = fleet_report(jk, fmt="kisa")
    assert md.startswith("# KISA 주요정보통신기반시설 Unix 서버 취약점 점검 결과: 전체 서버\n")
    assert "대상 서버: 24대" in md and "2021년판" in md
    assert len([line for line in md.splitlines() if line.startswith("| U-")]) == 72
    # C-01 fails on hosts 0, 4, 8, 12, 16 and 20 (the new host) but h04 was fixed.
    assert row(md, "U-01") == f"| U-01 | root 계정 원격 접속 제한 | 상 | 19 | 5 | 0 | {hosts([0, 8, 12, 16, 20])} |"
    # U-44 is C-02 (fails on multiples of 3 but h06 fixed) or C-03 (newly failed on h01, h02).
    assert row(md, "U-44") == (f"| U-44 | root 이외의 UID가 '0' 금지 | 중 | 15 | 9 | 0 | "
                               f"{hosts([0, 1, 2, 3, 9, 12, 15, 18, 21])} |")
    # C-04 fails on even hosts; h12's failure is waived and still counted 취약.
    assert row(md, "U-07").endswith(f"| 상 | 12 | 12 | 0 | {hosts(range(0, 24, 2))} |")
    # items no check of the fleet covers: every host 미점검, none 양호/취약/N/A
    assert row(md, "U-02") == "| U-02 | 패스워드 복잡성 설정 | 상 | 0 | 0 | 0 |  |"
    # process items are listed as manual
    assert "호스트 상태가 아닌 관리 절차" in row(md, "U-42")
    # byte-stable; the 2026 numbering
    assert fleet_report(jk, fmt="kisa") == md
    md26 = fleet_report(jk, "--kisa-edition", "2026", fmt="kisa")
    assert len([line for line in md26.splitlines() if line.startswith("| U-")]) == 67
    assert row(md26, "U-05").startswith("| U-05 | root 이외의 UID가 '0' 금지 | 상 | 15 | 9 | 0 |")
    html = fleet_report(jk, fmt="kisa-html")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ko">' in html
    assert html == fleet_report(jk, fmt="kisa-html")


def test_fleet_report_in_korean(jk, aws, moto):
    fd.import_fleet(boto(moto, "securityhub"))
    md = fleet_report(jk, "--lang", "ko")
    assert md.startswith("# Jikimi 전체 서버 보고서, 최근 24h\n"), md
    for heading in ("## 전체 현황", "## 신규 취약", "## 조치 완료", "## 점수가 낮은 서버"):
        assert heading in md, md
    # titles from the catalog's title_ko; a check without one keeps the English
    assert "C-03 한국어 제목" in md and "C-02 holds" in md
    assert "Worst hosts" not in md
    doc = json.loads(fleet_report(jk, "--lang", "ko", fmt="json"))
    assert "newly_failed" in doc and doc["totals"]["hosts"] == 24


def test_asff_text_in_korean(jk, aws, tmp_path):
    cat = tmp_path / "cat"
    cat.mkdir()
    (cat / "fleet.toml").write_text(FLEET_CHECKS)
    root = make_root(tmp_path)
    (root / "etc/c01").write_text("x\n")
    p = jk.run("check", "--once", "--format", "asff", "--lang", "ko", "--no-extra-checks", "--root", root,
               "--catalog", cat, "--config", jk.config(), "--state-dir", jk.state, "--only", "C-01,C-02")
    by = {f["ProductFields"]["jikimi/CheckId"]: f for f in json.loads(p.stdout)}
    c1 = by["C-01"]
    assert c1["Title"] == "C-01 한국어 제목"
    assert c1["Description"].startswith("시험용 점검 C-01."), c1["Description"]
    assert c1["Remediation"]["Recommendation"]["Text"].startswith("C-01을 조치하십시오."), c1["Remediation"]
    assert c1["Compliance"]["Status"] == "FAILED" and c1["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"
    # no Korean text: the English stays, and nothing says so
    assert by["C-02"]["Title"] == "C-02 holds"


def _decode(png):
    spec = __import__("importlib.util").util.spec_from_file_location(
        "png_decode", REPO / "tests/observability/png_check.py")
    src = Path(spec.origin).read_text().replace("\nmain()\n", "\n")
    ns = {}
    exec(compile(src, spec.origin, "exec"), ns)
    return ns["decode"](str(png))


SYLLABLES = ["취", "약", "양", "호", "점", "검"]
NO_FONT = ["\U000F0001", "\U000F0002"]  # private use: no font has them, drawn as boxes


def assert_hangul_glyphs(exe, font_family, tmp_path):
    """Each syllable in its own 100x100 cell, in the page's font stack: real glyphs differ
    from each other and from the boxes of characters no font has."""
    cells = "".join(
        f'<div style="position:absolute;left:{i * 100}px;top:0;width:100px;height:100px;'
        f'font-size:64px;line-height:100px;text-align:center">{c}</div>'
        for i, c in enumerate(SYLLABLES + NO_FONT))
    page = tmp_path / "glyphs.html"
    page.write_text(f'<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"></head>'
                    f'<body style="margin:0;background:#fff;color:#000;font-family:{font_family}">{cells}</body></html>')
    png = tmp_path / "glyphs.png"
    screenshot(exe, page, png, tmp_path, 100 * len(SYLLABLES + NO_FONT), 400)
    w, h, bpp, rows = _decode(png)
    bitmaps = []
    for i in range(len(SYLLABLES + NO_FONT)):
        bitmaps.append(b"".join(bytes(1 if r[x * bpp] < 128 else 0 for x in range(i * 100, i * 100 + 100))
                                for r in rows[:100]))
    hangul, boxes = bitmaps[:len(SYLLABLES)], bitmaps[len(SYLLABLES):]
    for s, b in zip(SYLLABLES, hangul):
        assert sum(b) > 200, f"no ink for {s}"
    assert len(set(hangul)) == len(SYLLABLES), "Hangul syllables drew identical glyphs (tofu)"
    assert not set(hangul) & set(boxes), "Hangul drawn like a character no font has (tofu)"


def _font_family(html):
    m = re.search(r"font-family:([^;\"}]+)", html) or re.search(r"font:\s*[\d.]+px(?:/[\d.]+)?\s+([^;\"}]+)", html)
    assert m, "no font-family in the page"
    return m.group(1).replace("&#39;", "'")


@pytest.mark.parametrize("kind", ["host-report", "host-kisa", "fleet-report", "fleet-kisa"])
def test_korean_html_renders_with_a_hangul_font(jk, aws, moto, tmp_path, kind):
    exe = chromium()
    fonts = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout
    if not fonts.strip():
        pytest.fail("no font with Korean coverage (apt-get install fonts-nanum)")
    if kind.startswith("fleet"):
        fd.import_fleet(boto(moto, "securityhub"))
        html = fleet_report(jk, "--lang", "ko", fmt="kisa-html" if kind == "fleet-kisa" else "html")
    else:
        cfg = jk.config()
        jk.run("check", "--once", "--no-walks", "--no-extra-checks", "--format", "json", "--output", "/dev/null",
               "--root", REPO / "tests/hosts/debian-weak/root", "--config", cfg, "--state-dir", jk.state)
        fmt = "kisa-html" if kind == "host-kisa" else "html"
        html = jk.run("report", "--state-dir", jk.state, "--config", cfg, "--lang", "ko", "--format", fmt,
                      codes=(0,)).stdout
    assert re.search(r'<html lang="ko">', html)
    assert len(re.findall(r"[\uac00-\ud7a3]", html)) > 50
    page = tmp_path / f"{kind}.html"
    page.write_text(html)
    png = tmp_path / f"{kind}.png"
    screenshot(exe, page, png, tmp_path, 1000, 1400)
    r = subprocess.run([sys.executable, str(REPO / "tests/observability/png_check.py"), str(png)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_hangul_glyphs(exe, _font_family(html), tmp_path)
