//! The KISA form (`--format kisa`): the results of one host, or of the fleet, as the auditors
//! of 주요정보통신기반시설 기술적 취약점 분석·평가 read them — one row per KISA Unix item, in
//! item order, with the verdict words of the guide (양호 / 취약 / N/A), the checks behind the
//! item and their evidence.
//!
//! Two numberings are in use: the 2021 guide (U-01..U-72) and the 2026 guide (U-01..U-67,
//! renumbered by category, some items merged). [`Edition`] picks one; the checks carry both
//! (`references.kisa`, `references.kisa2026`). Item titles, importance (상/중/하) and which
//! items are processes rather than host state come from the tables below
//! (see `docs/i18n-kisa.md` for their source and the mapping rules).
//!
//! Verdict of an item on one host ([`Verdict::of`]), from the checks that reference it:
//! any FAIL or WAIVED → 취약 (a waiver accepts the risk, it does not make the setting good:
//! the waiver is shown in the row); else any ERROR → 오류 (part of the item could not be
//! read, so it cannot be called good); else any PASS → 양호; else (all NOT_APPLICABLE) → N/A.
//! Checks of the `manual` area (process items) never decide a verdict: an item with only
//! such checks is 수동 점검. An item no check of this run covers is 미점검.
//!
//! Rendering is a pure function of its input (no clock, sorted everywhere): byte-stable.
//! Everything from the host is escaped when written (HTML: `&<>"'`; Markdown: punctuation
//! and control characters).

use crate::findings::{CheckResult, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Which KISA numbering a report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edition {
    /// 2021 guide, U-01..U-72 (the one most audit checklists still use).
    #[default]
    K2021,
    /// 2026 guide, U-01..U-67.
    K2026,
}

impl Edition {
    pub fn items(self) -> &'static [Item] {
        match self {
            Edition::K2021 => ITEMS_2021,
            Edition::K2026 => ITEMS_2026,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Edition::K2021 => "2021",
            Edition::K2026 => "2026",
        }
    }
}

impl std::str::FromStr for Edition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "2021" => Ok(Edition::K2021),
            "2026" => Ok(Edition::K2026),
            _ => Err(format!(
                "unknown KISA edition `{s}` (expected 2021 or 2026)"
            )),
        }
    }
}

/// 중요도.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn ko(self) -> &'static str {
        match self {
            Importance::High => "상",
            Importance::Medium => "중",
            Importance::Low => "하",
        }
    }
}

/// One item of the guide.
#[derive(Debug)]
pub struct Item {
    pub code: &'static str,
    pub title: &'static str,
    pub importance: Importance,
    /// A process (patch policy, log review), not host state: always 수동 점검.
    pub process: bool,
}

const fn it(code: &'static str, title: &'static str, imp: char, process: bool) -> Item {
    Item {
        code,
        title,
        importance: match imp {
            '상' => Importance::High,
            '중' => Importance::Medium,
            _ => Importance::Low,
        },
        process,
    }
}

/// The 2021 guide, in item order.
pub static ITEMS_2021: &[Item] = &[
    it("U-01", "root 계정 원격 접속 제한", '상', false),
    it("U-02", "패스워드 복잡성 설정", '상', false),
    it("U-03", "계정 잠금 임계값 설정", '상', false),
    it("U-04", "패스워드 파일 보호", '상', false),
    it(
        "U-05",
        "root홈, 패스 디렉터리 권한 및 패스 설정",
        '상',
        false,
    ),
    it("U-06", "파일 및 디렉터리 소유자 설정", '상', false),
    it("U-07", "/etc/passwd 파일 소유자 및 권한 설정", '상', false),
    it("U-08", "/etc/shadow 파일 소유자 및 권한 설정", '상', false),
    it("U-09", "/etc/hosts 파일 소유자 및 권한 설정", '상', false),
    it(
        "U-10",
        "/etc/(x)inetd.conf 파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it(
        "U-11",
        "/etc/(r)syslog.conf 파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it(
        "U-12",
        "/etc/services 파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it("U-13", "SUID, SGID 설정 파일 점검", '상', false),
    it(
        "U-14",
        "사용자, 시스템 시작파일 및 환경파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it("U-15", "world writable 파일 점검", '상', false),
    it("U-16", "/dev에 존재하지 않는 device 파일 점검", '상', false),
    it("U-17", "$HOME/.rhosts, hosts.equiv 사용 금지", '상', false),
    it("U-18", "접속 IP 및 포트 제한", '상', false),
    it("U-19", "Finger 서비스 비활성화", '상', false),
    it("U-20", "Anonymous FTP 비활성화", '상', false),
    it("U-21", "r 계열 서비스 비활성화", '상', false),
    it("U-22", "crond 파일 소유자 및 권한 설정", '상', false),
    it("U-23", "DoS 공격에 취약한 서비스 비활성화", '상', false),
    it("U-24", "NFS 서비스 비활성화", '상', false),
    it("U-25", "NFS 접근 통제", '상', false),
    it("U-26", "automountd 제거", '상', false),
    it("U-27", "RPC 서비스 확인", '상', false),
    it("U-28", "NIS, NIS+ 점검", '상', false),
    it("U-29", "tftp, talk 서비스 비활성화", '상', false),
    it("U-30", "Sendmail 버전 점검", '상', false),
    it("U-31", "스팸 메일 릴레이 제한", '상', false),
    it("U-32", "일반사용자의 Sendmail 실행 방지", '상', false),
    it("U-33", "DNS 보안 버전 패치", '상', false),
    it("U-34", "DNS Zone Transfer 설정", '상', false),
    it("U-35", "웹서비스 디렉토리 리스팅 제거", '상', false),
    it("U-36", "웹서비스 웹 프로세스 권한 제한", '상', false),
    it("U-37", "웹서비스 상위 디렉토리 접근 금지", '상', false),
    it("U-38", "웹서비스 불필요한 파일 제거", '상', false),
    it("U-39", "웹서비스 링크 사용금지", '상', false),
    it("U-40", "웹서비스 파일 업로드 및 다운로드 제한", '상', false),
    it("U-41", "웹서비스 영역의 분리", '상', false),
    it("U-42", "최신 보안패치 및 벤더 권고사항 적용", '상', true),
    it("U-43", "로그의 정기적 검토 및 보고", '상', true),
    it("U-44", "root 이외의 UID가 '0' 금지", '중', false),
    it("U-45", "root 계정 su 제한", '하', false),
    it("U-46", "패스워드 최소 길이 설정", '중', false),
    it("U-47", "패스워드 최대 사용기간 설정", '중', false),
    it("U-48", "패스워드 최소 사용기간 설정", '중', false),
    it("U-49", "불필요한 계정 제거", '하', false),
    it("U-50", "관리자 그룹에 최소한의 계정 포함", '하', false),
    it("U-51", "계정이 존재하지 않는 GID 금지", '하', false),
    it("U-52", "동일한 UID 금지", '중', false),
    it("U-53", "사용자 shell 점검", '하', false),
    it("U-54", "Session Timeout 설정", '하', false),
    it("U-55", "hosts.lpd 파일 소유자 및 권한 설정", '하', false),
    it("U-56", "UMASK 설정 관리", '중', false),
    it("U-57", "홈디렉토리 소유자 및 권한 설정", '중', false),
    it(
        "U-58",
        "홈디렉토리로 지정한 디렉토리의 존재 관리",
        '중',
        false,
    ),
    it("U-59", "숨겨진 파일 및 디렉토리 검색 및 제거", '하', false),
    it("U-60", "ssh 원격접속 허용", '중', false),
    it("U-61", "ftp 서비스 확인", '하', false),
    it("U-62", "ftp 계정 shell 제한", '중', false),
    it("U-63", "ftpusers 파일 소유자 및 권한 설정", '하', false),
    it(
        "U-64",
        "ftpusers 파일 설정(FTP 서비스 root 계정 접근제한)",
        '중',
        false,
    ),
    it("U-65", "at 서비스 권한 설정", '중', false),
    it("U-66", "SNMP 서비스 구동 점검", '중', false),
    it(
        "U-67",
        "SNMP 서비스 Community String의 복잡성 설정",
        '중',
        false,
    ),
    it("U-68", "로그온 시 경고 메시지 제공", '하', false),
    it("U-69", "NFS 설정파일 접근권한", '중', false),
    it("U-70", "expn, vrfy 명령어 제한", '중', false),
    it("U-71", "Apache 웹 서비스 정보 숨김", '중', false),
    it("U-72", "정책에 따른 시스템 로깅 설정", '하', false),
];

/// The 2026 guide, in item order. Items carried over keep the 2021 wording of their first
/// 2021 item; the wording of items new in 2026 (U-13, U-17, U-51, U-53, U-59, U-61, U-63,
/// U-65, U-67) is ours, to be checked against the published guide.
pub static ITEMS_2026: &[Item] = &[
    it("U-01", "root 계정 원격 접속 제한", '상', false),
    it("U-02", "패스워드 복잡성 설정", '상', false),
    it("U-03", "계정 잠금 임계값 설정", '상', false),
    it("U-04", "패스워드 파일 보호", '상', false),
    it("U-05", "root 이외의 UID가 '0' 금지", '상', false),
    it("U-06", "root 계정 su 제한", '상', false),
    it("U-07", "불필요한 계정 제거", '하', false),
    it("U-08", "관리자 그룹에 최소한의 계정 포함", '하', false),
    it("U-09", "계정이 존재하지 않는 GID 금지", '하', false),
    it("U-10", "동일한 UID 금지", '중', false),
    it("U-11", "사용자 shell 점검", '하', false),
    it("U-12", "Session Timeout 설정", '하', false),
    it("U-13", "안전한 비밀번호 암호화 알고리즘 사용", '중', false),
    it(
        "U-14",
        "root홈, 패스 디렉터리 권한 및 패스 설정",
        '상',
        false,
    ),
    it("U-15", "파일 및 디렉터리 소유자 설정", '상', false),
    it("U-16", "/etc/passwd 파일 소유자 및 권한 설정", '상', false),
    it("U-17", "시스템 시작 스크립트 권한 설정", '상', false),
    it("U-18", "/etc/shadow 파일 소유자 및 권한 설정", '상', false),
    it("U-19", "/etc/hosts 파일 소유자 및 권한 설정", '상', false),
    it(
        "U-20",
        "/etc/(x)inetd.conf 파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it(
        "U-21",
        "/etc/(r)syslog.conf 파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it(
        "U-22",
        "/etc/services 파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it("U-23", "SUID, SGID 설정 파일 점검", '상', false),
    it(
        "U-24",
        "사용자, 시스템 시작파일 및 환경파일 소유자 및 권한 설정",
        '상',
        false,
    ),
    it("U-25", "world writable 파일 점검", '상', false),
    it("U-26", "/dev에 존재하지 않는 device 파일 점검", '상', false),
    it("U-27", "$HOME/.rhosts, hosts.equiv 사용 금지", '상', false),
    it("U-28", "접속 IP 및 포트 제한", '상', false),
    it("U-29", "hosts.lpd 파일 소유자 및 권한 설정", '하', false),
    it("U-30", "UMASK 설정 관리", '중', false),
    it("U-31", "홈디렉토리 소유자 및 권한 설정", '중', false),
    it(
        "U-32",
        "홈디렉토리로 지정한 디렉토리의 존재 관리",
        '중',
        false,
    ),
    it("U-33", "숨겨진 파일 및 디렉토리 검색 및 제거", '하', false),
    it("U-34", "Finger 서비스 비활성화", '상', false),
    it("U-35", "Anonymous FTP 비활성화", '상', false),
    it("U-36", "r 계열 서비스 비활성화", '상', false),
    it("U-37", "crond 파일 소유자 및 권한 설정", '상', false),
    it("U-38", "DoS 공격에 취약한 서비스 비활성화", '상', false),
    it("U-39", "NFS 서비스 비활성화", '상', false),
    it("U-40", "NFS 접근 통제", '상', false),
    it("U-41", "automountd 제거", '상', false),
    it("U-42", "RPC 서비스 확인", '상', false),
    it("U-43", "NIS, NIS+ 점검", '상', false),
    it("U-44", "tftp, talk 서비스 비활성화", '상', false),
    it("U-45", "Sendmail 버전 점검", '상', false),
    it("U-46", "일반사용자의 Sendmail 실행 방지", '상', false),
    it("U-47", "스팸 메일 릴레이 제한", '상', false),
    it("U-48", "expn, vrfy 명령어 제한", '중', false),
    it("U-49", "DNS 보안 버전 패치", '상', false),
    it("U-50", "DNS Zone Transfer 설정", '상', false),
    it(
        "U-51",
        "DNS 서비스의 취약한 동적 업데이트 설정 금지",
        '중',
        false,
    ),
    it("U-52", "ssh 원격접속 허용", '중', false),
    it("U-53", "FTP 서비스 정보 노출 제한", '하', false),
    it("U-54", "ftp 서비스 확인", '하', false),
    it("U-55", "ftp 계정 shell 제한", '중', false),
    it("U-56", "ftpusers 파일 소유자 및 권한 설정", '하', false),
    it(
        "U-57",
        "ftpusers 파일 설정(FTP 서비스 root 계정 접근제한)",
        '중',
        false,
    ),
    it("U-58", "SNMP 서비스 구동 점검", '중', false),
    it("U-59", "안전한 SNMP 버전 사용", '중', false),
    it(
        "U-60",
        "SNMP 서비스 Community String의 복잡성 설정",
        '중',
        false,
    ),
    it("U-61", "SNMP Access Control 설정", '중', false),
    it("U-62", "로그온 시 경고 메시지 제공", '하', false),
    it("U-63", "sudo 명령어 접근 관리", '중', false),
    it("U-64", "최신 보안패치 및 벤더 권고사항 적용", '상', true),
    it("U-65", "NTP 및 시각 동기화 설정", '중', false),
    it("U-66", "정책에 따른 시스템 로깅 설정", '중', false),
    it("U-67", "로그 디렉터리 소유자 및 권한 설정", '중', false),
];

/// The auditors' verdict on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// 양호
    Good,
    /// 취약 (FAIL, or WAIVED with the waiver shown)
    Vulnerable,
    /// N/A: every check behind the item is not applicable here (service not installed...)
    NotApplicable,
    /// 오류: a check behind the item could not read its input
    Error,
    /// 수동 점검: a process, or a judgement the host cannot give
    Manual,
    /// 미점검: no check of this run covers the item (left out with --only/--skip...)
    NotAssessed,
}

impl Verdict {
    pub fn ko(self) -> &'static str {
        match self {
            Verdict::Good => "양호",
            Verdict::Vulnerable => "취약",
            Verdict::NotApplicable => "N/A",
            Verdict::Error => "오류",
            Verdict::Manual => "수동 점검",
            Verdict::NotAssessed => "미점검",
        }
    }

    /// The verdict of an item from its checks: `(status, manual)` pairs.
    pub fn of(process: bool, checks: &[(Status, bool)]) -> Verdict {
        if process {
            return Verdict::Manual;
        }
        let host: Vec<Status> = checks.iter().filter(|c| !c.1).map(|c| c.0).collect();
        let has = |s: Status| host.contains(&s);
        if host.is_empty() {
            if checks.is_empty() {
                Verdict::NotAssessed
            } else {
                Verdict::Manual
            }
        } else if has(Status::Fail) || has(Status::Waived) {
            Verdict::Vulnerable
        } else if has(Status::Error) {
            Verdict::Error
        } else if has(Status::Pass) {
            Verdict::Good
        } else {
            Verdict::NotApplicable
        }
    }
}

/// What the form needs of one check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckLine {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// A process item (`manual` area): never decides the verdict.
    pub manual: bool,
    pub kisa: Vec<String>,
    pub kisa2026: Vec<String>,
    /// Reason, waiver and evidence lines, in order (at most [`EVIDENCE_LINES`]).
    pub evidence: Vec<String>,
}

/// Evidence lines shown per check (the JSON output has them all).
pub const EVIDENCE_LINES: usize = 5;
/// Characters of one evidence line.
pub const EVIDENCE_CHARS: usize = 300;

/// The catalog's area of process items.
pub const MANUAL_AREA: &str = "manual";

fn clip(s: &str) -> String {
    crate::sinks::asff::clip(s, EVIDENCE_CHARS)
}

impl CheckLine {
    /// From a fresh scan's result (its title already in the report's language).
    pub fn from_result(r: &CheckResult) -> CheckLine {
        let mut ev = Vec::new();
        if let Some(w) = &r.waiver {
            ev.push(format!(
                "예외 승인: {} (승인자 {}, 만료 {})",
                w.reason, w.approved_by, w.expires
            ));
        }
        if let Some(reason) = &r.reason {
            ev.push(reason.clone());
        }
        ev.extend(r.evidence.iter().map(|e| e.to_string()));
        ev.dedup();
        ev.truncate(EVIDENCE_LINES);
        CheckLine {
            id: r.id.clone(),
            title: r.title.clone(),
            status: r.status,
            manual: r.area == MANUAL_AREA,
            kisa: r.references.kisa.clone(),
            kisa2026: r.references.kisa2026.clone(),
            evidence: ev.iter().map(|e| clip(e)).collect(),
        }
    }

    fn refs(&self, e: Edition) -> &[String] {
        match e {
            Edition::K2021 => &self.kisa,
            Edition::K2026 => &self.kisa2026,
        }
    }
}

impl CheckLine {
    /// From a history record's check (`jikimi report`): references, area and title from the
    /// catalog (`None` for a check the catalog no longer has: it cannot be placed).
    pub fn from_record(
        c: &crate::history::CheckRecord,
        refs: &BTreeMap<String, Refs>,
        texts: &crate::i18n::CheckTexts,
        lang: crate::i18n::Lang,
    ) -> Option<CheckLine> {
        let r = refs.get(&c.id)?;
        let mut ev = Vec::new();
        if let Some(w) = &c.waiver {
            ev.push(format!(
                "예외 승인: {} (승인자 {}, 만료 {})",
                w.reason, w.approved_by, w.expires
            ));
        }
        if let Some(reason) = &c.reason {
            ev.push(reason.clone());
        }
        ev.extend(c.evidence.iter().cloned());
        ev.dedup();
        ev.truncate(EVIDENCE_LINES);
        Some(CheckLine {
            id: c.id.clone(),
            title: texts.title(&c.id, lang).unwrap_or(&c.title).to_string(),
            status: c.status,
            manual: r.manual,
            kisa: r.kisa.clone(),
            kisa2026: r.kisa2026.clone(),
            evidence: ev.iter().map(|e| clip(e)).collect(),
        })
    }
}

/// One row of the host form.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub item: &'static Item,
    pub verdict: Verdict,
    pub checks: Vec<&'a CheckLine>,
}

/// The rows of one host, in item order. Checks in a row are sorted by id.
pub fn rows(edition: Edition, checks: &[CheckLine]) -> Vec<Row<'_>> {
    edition
        .items()
        .iter()
        .map(|item| {
            let mut cs: Vec<&CheckLine> = checks
                .iter()
                .filter(|c| c.refs(edition).iter().any(|k| k == item.code))
                .collect();
            cs.sort_by(|a, b| a.id.cmp(&b.id));
            let st: Vec<(Status, bool)> = cs.iter().map(|c| (c.status, c.manual)).collect();
            Row {
                item,
                verdict: Verdict::of(item.process, &st),
                checks: cs,
            }
        })
        .collect()
}

/// Verdict counts over rows, in the form's order.
pub fn tally(verdicts: impl Iterator<Item = Verdict>) -> Vec<(Verdict, usize)> {
    let mut m: BTreeMap<Verdict, usize> = BTreeMap::new();
    for v in verdicts {
        *m.entry(v).or_default() += 1;
    }
    m.into_iter().collect()
}

/// Who and what the host form is about.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub hostname: String,
    pub os: String,
    /// When the scan ran (RFC 3339).
    pub scanned_at: String,
    pub profile: String,
    pub catalog_digest: String,
}

fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if crate::sinks::table::needs_escape(c) {
            o.push_str(&crate::sinks::table::escape_controls(
                c.encode_utf8(&mut [0; 4]),
            ));
            continue;
        }
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '&'
        ) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn h(s: &str) -> String {
    crate::fleet::render::h(s)
}

fn header_lines(hd: &Header, edition: Edition) -> Vec<String> {
    vec![
        format!("호스트: {}", hd.hostname),
        format!("운영체제: {}", hd.os),
        format!("점검 일시: {}", hd.scanned_at),
        format!(
            "기준: 주요정보통신기반시설 기술적 취약점 분석·평가 상세가이드 {}년판 (Unix 서버)",
            edition.label()
        ),
        format!(
            "프로파일 {} · 카탈로그 {}",
            hd.profile,
            hd.catalog_digest.chars().take(12).collect::<String>()
        ),
    ]
}

fn summary_line(rows: &[Row]) -> String {
    tally(rows.iter().map(|r| r.verdict))
        .iter()
        .map(|(v, n)| format!("{} {n}", v.ko()))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn manual_note(r: &Row) -> Option<&'static str> {
    match r.verdict {
        Verdict::Manual => Some(crate::i18n::KO.kisa_manual_note),
        Verdict::NotAssessed => Some("이번 점검에 포함된 점검 항목 없음"),
        _ => None,
    }
}

/// The host form in Markdown.
pub fn markdown(hd: &Header, edition: Edition, checks: &[CheckLine]) -> String {
    let t = &crate::i18n::KO;
    let rows = rows(edition, checks);
    let mut o = String::new();
    let _ = writeln!(o, "# {}: {}\n", t.kisa_title, md(&hd.hostname));
    for l in header_lines(hd, edition) {
        let _ = writeln!(o, "{}  ", md(&l));
    }
    let _ = writeln!(o, "\n**{}**: {}\n", t.kisa_summary, summary_line(&rows));
    let _ = writeln!(o, "| {} |", t.kisa_columns.join(" | "));
    let _ = writeln!(o, "|---|---|:-:|:-:|---|---|");
    for r in &rows {
        let checks: Vec<String> = r
            .checks
            .iter()
            .map(|c| {
                format!(
                    "{} {} — {}",
                    md(&c.id),
                    crate::i18n::KO.status(c.status),
                    md(&c.title)
                )
            })
            .collect();
        let mut ev: Vec<String> = Vec::new();
        if let Some(n) = manual_note(r) {
            ev.push(n.to_string());
        }
        for c in &r.checks {
            for e in &c.evidence {
                ev.push(format!("{}: {}", md(&c.id), md(e)));
            }
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} | **{}** | {} | {} |",
            r.item.code,
            md(r.item.title),
            r.item.importance.ko(),
            r.verdict.ko(),
            checks.join("<br>"),
            ev.join("<br>")
        );
    }
    o
}

const FONT: &str = "'Noto Sans KR','Noto Sans CJK KR','NanumGothic','Malgun Gothic','Apple SD Gothic Neo',sans-serif";

fn verdict_color(v: Verdict) -> &'static str {
    match v {
        Verdict::Good => "#15803d",
        Verdict::Vulnerable => "#b91c1c",
        Verdict::Error => "#9333ea",
        Verdict::Manual => "#1d4ed8",
        Verdict::NotApplicable | Verdict::NotAssessed => "#64748b",
    }
}

fn html_head(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title></head>\n\
<body style=\"margin:0;padding:16px;background:#ffffff;font-family:{FONT};font-size:13px;line-height:1.5;color:#0f172a\">\n",
        h(title)
    );
}

fn html_table_open(o: &mut String, cols: &[&str]) {
    let _ = write!(
        o,
        "<table style=\"border-collapse:collapse;width:100%\"><thead><tr>"
    );
    for c in cols {
        let _ = write!(
            o,
            "<th style=\"border:1px solid #cbd5e1;background:#f1f5f9;padding:4px 6px;text-align:left;white-space:nowrap\">{}</th>",
            h(c)
        );
    }
    let _ = writeln!(o, "</tr></thead><tbody>");
}

const TD: &str = "border:1px solid #cbd5e1;padding:4px 6px;vertical-align:top";

/// The host form in HTML (Korean, self-contained, no scripts or external resources).
pub fn html(hd: &Header, edition: Edition, checks: &[CheckLine]) -> String {
    let t = &crate::i18n::KO;
    let rows = rows(edition, checks);
    let mut o = String::with_capacity(64 * 1024);
    let title = format!("{}: {}", t.kisa_title, hd.hostname);
    html_head(&mut o, &title);
    let _ = writeln!(
        o,
        "<h1 style=\"font-size:20px;margin:0 0 8px\">{}</h1>",
        h(&title)
    );
    for l in header_lines(hd, edition) {
        let _ = writeln!(o, "<div>{}</div>", h(&l));
    }
    let _ = writeln!(
        o,
        "<p><b>{}</b>: {}</p>",
        h(t.kisa_summary),
        h(&summary_line(&rows))
    );
    html_table_open(&mut o, &t.kisa_columns);
    for r in &rows {
        let _ = write!(
            o,
            "<tr><td style=\"{TD};white-space:nowrap\">{}</td><td style=\"{TD}\">{}</td><td style=\"{TD};text-align:center\">{}</td>\
<td style=\"{TD};white-space:nowrap;font-weight:bold;color:{}\">{}</td><td style=\"{TD}\">",
            h(r.item.code),
            h(r.item.title),
            r.item.importance.ko(),
            verdict_color(r.verdict),
            r.verdict.ko()
        );
        for c in &r.checks {
            let _ = write!(
                o,
                "<div><code>{}</code> {} — {}</div>",
                h(&c.id),
                h(t.status(c.status)),
                h(&c.title)
            );
        }
        let _ = write!(o, "</td><td style=\"{TD};word-break:break-word\">");
        if let Some(n) = manual_note(r) {
            let _ = write!(o, "<div>{}</div>", h(n));
        }
        for c in &r.checks {
            for e in &c.evidence {
                let _ = write!(o, "<div><code>{}</code>: {}</div>", h(&c.id), h(e));
            }
        }
        let _ = writeln!(o, "</td></tr>");
    }
    let _ = write!(o, "</tbody></table>\n</body></html>\n");
    o
}

/// One host's state of one check, as the fleet sees it (from Security Hub findings, which do
/// not tell an ERROR from a NOT_APPLICABLE: both are `NOT_AVAILABLE`, counted as N/A).
#[derive(Debug, Clone)]
pub struct FleetObs {
    pub hostname: String,
    pub check_id: String,
    pub status: Status,
}

/// The references of a check, by id (from the catalog: findings do not carry them).
#[derive(Debug, Clone, Default)]
pub struct Refs {
    pub kisa: Vec<String>,
    pub kisa2026: Vec<String>,
    pub manual: bool,
}

/// `Refs` of every catalog check.
pub fn refs_of(checks: &[crate::catalog::Check]) -> BTreeMap<String, Refs> {
    checks
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                Refs {
                    kisa: c.references.kisa.clone(),
                    kisa2026: c.references.kisa2026.clone(),
                    manual: c.area == MANUAL_AREA,
                },
            )
        })
        .collect()
}

/// One row of the fleet form.
#[derive(Debug, Clone)]
pub struct FleetRow {
    pub item: &'static Item,
    /// Hosts by verdict.
    pub hosts: BTreeMap<Verdict, BTreeSet<String>>,
}

impl FleetRow {
    pub fn count(&self, v: Verdict) -> usize {
        self.hosts.get(&v).map_or(0, BTreeSet::len)
    }
}

/// Item code → `(status, manual)` of the checks behind it, on one host.
type ItemStatuses<'a> = BTreeMap<&'a str, Vec<(Status, bool)>>;

/// The fleet rows: each host's verdict per item, counted.
pub fn fleet_rows(
    edition: Edition,
    obs: &[FleetObs],
    refs: &BTreeMap<String, Refs>,
) -> Vec<FleetRow> {
    // host → item → (status, manual)
    let mut per: BTreeMap<&str, ItemStatuses> = BTreeMap::new();
    for o in obs {
        let host = per.entry(o.hostname.as_str()).or_default();
        let Some(r) = refs.get(&o.check_id) else {
            continue;
        };
        let codes = match edition {
            Edition::K2021 => &r.kisa,
            Edition::K2026 => &r.kisa2026,
        };
        for k in codes {
            host.entry(k.as_str())
                .or_default()
                .push((o.status, r.manual));
        }
    }
    edition
        .items()
        .iter()
        .map(|item| {
            let mut hosts: BTreeMap<Verdict, BTreeSet<String>> = BTreeMap::new();
            for (host, items) in &per {
                let st = items.get(item.code).map(Vec::as_slice).unwrap_or(&[]);
                hosts
                    .entry(Verdict::of(item.process, st))
                    .or_default()
                    .insert(host.to_string());
            }
            FleetRow { item, hosts }
        })
        .collect()
}

/// Hosts named per row; the rest are counted.
pub const FLEET_HOSTS_NAMED: usize = 30;

fn named(hosts: Option<&BTreeSet<String>>) -> (Vec<&str>, usize) {
    let all: Vec<&str> = hosts
        .map(|s| s.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let more = all.len().saturating_sub(FLEET_HOSTS_NAMED);
    (all.into_iter().take(FLEET_HOSTS_NAMED).collect(), more)
}

/// What the fleet form is about.
#[derive(Debug, Clone, Default)]
pub struct FleetHeader {
    /// Report time (RFC 3339).
    pub generated_at: String,
    /// Where the findings came from.
    pub source: String,
    pub hosts: usize,
}

fn fleet_header_lines(hd: &FleetHeader, edition: Edition) -> Vec<String> {
    vec![
        format!("대상 서버: {}대", hd.hosts),
        format!("출처: {}", hd.source),
        format!("생성 일시: {}", hd.generated_at),
        format!(
            "기준: 주요정보통신기반시설 기술적 취약점 분석·평가 상세가이드 {}년판 (Unix 서버)",
            edition.label()
        ),
        "오류와 해당 없음은 Security Hub에서 구분되지 않아 N/A로 집계합니다.".to_string(),
    ]
}

/// The fleet form in Markdown.
pub fn fleet_markdown(hd: &FleetHeader, edition: Edition, rows: &[FleetRow]) -> String {
    let t = &crate::i18n::KO;
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", t.kisa_fleet_title);
    for l in fleet_header_lines(hd, edition) {
        let _ = writeln!(o, "{}  ", md(&l));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "| {} |", t.kisa_fleet_columns.join(" | "));
    let _ = writeln!(o, "|---|---|:-:|--:|--:|--:|---|");
    for r in rows {
        let (names, more) = named(r.hosts.get(&Verdict::Vulnerable));
        let mut list = names.iter().map(|n| md(n)).collect::<Vec<_>>().join(", ");
        if more > 0 {
            list += &format!(" 외 {more}대");
        }
        if r.item.process {
            list = t.kisa_manual_note.to_string();
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.item.code,
            md(r.item.title),
            r.item.importance.ko(),
            r.count(Verdict::Good),
            r.count(Verdict::Vulnerable),
            r.count(Verdict::NotApplicable),
            list
        );
    }
    o
}

/// The fleet form in HTML.
pub fn fleet_html(hd: &FleetHeader, edition: Edition, rows: &[FleetRow]) -> String {
    let t = &crate::i18n::KO;
    let mut o = String::with_capacity(64 * 1024);
    html_head(&mut o, t.kisa_fleet_title);
    let _ = writeln!(
        o,
        "<h1 style=\"font-size:20px;margin:0 0 8px\">{}</h1>",
        h(t.kisa_fleet_title)
    );
    for l in fleet_header_lines(hd, edition) {
        let _ = writeln!(o, "<div>{}</div>", h(&l));
    }
    html_table_open(&mut o, &t.kisa_fleet_columns);
    for r in rows {
        let (names, more) = named(r.hosts.get(&Verdict::Vulnerable));
        let mut list = names.iter().map(|n| h(n)).collect::<Vec<_>>().join(", ");
        if more > 0 {
            list += &format!(" 외 {more}대");
        }
        if r.item.process {
            list = h(t.kisa_manual_note);
        }
        let vul = r.count(Verdict::Vulnerable);
        let _ = writeln!(
            o,
            "<tr><td style=\"{TD};white-space:nowrap\">{}</td><td style=\"{TD}\">{}</td><td style=\"{TD};text-align:center\">{}</td>\
<td style=\"{TD};text-align:right\">{}</td><td style=\"{TD};text-align:right;font-weight:bold;color:{}\">{}</td><td style=\"{TD};text-align:right\">{}</td><td style=\"{TD};word-break:break-word\">{}</td></tr>",
            h(r.item.code),
            h(r.item.title),
            r.item.importance.ko(),
            r.count(Verdict::Good),
            if vul > 0 { "#b91c1c" } else { "#0f172a" },
            vul,
            r.count(Verdict::NotApplicable),
            list
        );
    }
    let _ = write!(o, "</tbody></table>\n</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, st: Status, k21: &[&str], k26: &[&str], manual: bool) -> CheckLine {
        CheckLine {
            id: id.into(),
            title: format!("{id} 제목"),
            status: st,
            manual,
            kisa: k21.iter().map(|s| s.to_string()).collect(),
            kisa2026: k26.iter().map(|s| s.to_string()).collect(),
            evidence: vec![format!("{id} evidence <b>&</b>")],
        }
    }

    #[test]
    fn item_tables_are_complete_and_ordered() {
        for (e, n) in [(Edition::K2021, 72), (Edition::K2026, 67)] {
            let items = e.items();
            assert_eq!(items.len(), n);
            for (i, it) in items.iter().enumerate() {
                assert_eq!(it.code, format!("U-{:02}", i + 1));
                assert!(
                    it.title
                        .chars()
                        .any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))
                        || it.title.is_ascii(),
                    "{}",
                    it.code
                );
            }
        }
        assert!(ITEMS_2021[41].process && ITEMS_2021[42].process);
        assert!(ITEMS_2026[63].process);
        assert_eq!(ITEMS_2026[4].importance, Importance::High); // U-05 raised to 상 in 2026
        assert_eq!(ITEMS_2021[43].importance, Importance::Medium); // U-44 was 중
    }

    #[test]
    fn verdict_rules() {
        use Status::*;
        use Verdict as V;
        assert_eq!(V::of(false, &[]), V::NotAssessed);
        assert_eq!(V::of(true, &[(Pass, false)]), V::Manual);
        assert_eq!(V::of(false, &[(NotApplicable, true)]), V::Manual);
        assert_eq!(V::of(false, &[(Pass, false), (Fail, false)]), V::Vulnerable);
        assert_eq!(
            V::of(false, &[(Pass, false), (Waived, false)]),
            V::Vulnerable
        );
        assert_eq!(
            V::of(false, &[(Error, false), (Fail, false)]),
            V::Vulnerable
        );
        assert_eq!(V::of(false, &[(Pass, false), (Error, false)]), V::Error);
        assert_eq!(
            V::of(false, &[(Pass, false), (NotApplicable, false)]),
            V::Good
        );
        assert_eq!(
            V::of(false, &[(NotApplicable, false), (NotApplicable, true)]),
            V::NotApplicable
        );
        // a manual check next to a host check does not decide
        assert_eq!(
            V::of(false, &[(Pass, false), (NotApplicable, true)]),
            V::Good
        );
    }

    #[test]
    fn host_rows_follow_the_edition_and_escape_evidence() {
        let checks = vec![
            line("SSH-002", Status::Fail, &["U-01"], &["U-01"], false),
            line("SSH-001", Status::Pass, &["U-01"], &["U-01"], false),
            line("ACCT-001", Status::Pass, &["U-44"], &["U-05"], false),
            line(
                "KISA-001",
                Status::NotApplicable,
                &["U-42"],
                &["U-64"],
                true,
            ),
        ];
        let r21 = rows(Edition::K2021, &checks);
        assert_eq!(r21[0].verdict, Verdict::Vulnerable);
        assert_eq!(
            r21[0]
                .checks
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["SSH-001", "SSH-002"]
        );
        assert_eq!(r21[43].verdict, Verdict::Good);
        assert_eq!(r21[41].verdict, Verdict::Manual);
        assert_eq!(r21[1].verdict, Verdict::NotAssessed);
        let r26 = rows(Edition::K2026, &checks);
        assert_eq!(r26[4].verdict, Verdict::Good);
        assert_eq!(r26[63].verdict, Verdict::Manual);

        let hd = Header {
            hostname: "<img src=x onerror=alert(1)>".into(),
            ..Default::default()
        };
        let html = html(&hd, Edition::K2021, &checks);
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>&</b>"));
        assert!(html.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
        assert!(html.contains("<html lang=\"ko\">"));
        assert!(html.contains("root 계정 원격 접속 제한"));
        assert_eq!(html.matches("<tr><td").count(), 72);
        let md = markdown(&hd, Edition::K2026, &checks);
        assert_eq!(md.lines().filter(|l| l.starts_with("| U-")).count(), 67);
        assert!(
            md.contains("| U-01 | root 계정 원격 접속 제한 | 상 | **취약** |"),
            "{md}"
        );
        assert!(md.contains("\\<b\\>\\&\\</b\\>"), "{md}");
        // byte-stable
        assert_eq!(md, markdown(&hd, Edition::K2026, &checks));
        let mut rev = checks.clone();
        rev.reverse();
        assert_eq!(md, markdown(&hd, Edition::K2026, &rev));
    }

    #[test]
    fn fleet_counts_hosts_per_verdict() {
        let mut refs = BTreeMap::new();
        refs.insert(
            "SSH-001".to_string(),
            Refs {
                kisa: vec!["U-01".into()],
                kisa2026: vec!["U-01".into()],
                manual: false,
            },
        );
        let o = |h: &str, s: Status| FleetObs {
            hostname: h.into(),
            check_id: "SSH-001".into(),
            status: s,
        };
        let obs = vec![
            o("web-1", Status::Fail),
            o("web-2", Status::Pass),
            o("db-1", Status::Waived),
            o("db-2", Status::NotApplicable),
            FleetObs {
                hostname: "db-2".into(),
                check_id: "UNKNOWN-1".into(),
                status: Status::Fail,
            },
        ];
        let rows = fleet_rows(Edition::K2021, &obs, &refs);
        assert_eq!(rows.len(), 72);
        assert_eq!(rows[0].count(Verdict::Good), 1);
        assert_eq!(rows[0].count(Verdict::Vulnerable), 2);
        assert_eq!(rows[0].count(Verdict::NotApplicable), 1);
        assert_eq!(rows[1].count(Verdict::NotAssessed), 4);
        let hd = FleetHeader {
            hosts: 4,
            ..Default::default()
        };
        let md = fleet_markdown(&hd, Edition::K2021, &rows);
        assert!(
            md.contains("| U-01 | root 계정 원격 접속 제한 | 상 | 1 | 2 | 1 | db-1, web-1 |"),
            "{md}"
        );
        let html = fleet_html(&hd, Edition::K2021, &rows);
        assert!(html.contains("db-1, web-1"));
        assert_eq!(html, fleet_html(&hd, Edition::K2021, &rows));
    }
}
