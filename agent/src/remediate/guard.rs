//! Lock-out guards: a fix that could remove the last way into the host is refused, with the
//! reason, before anything is planned. The rules are deliberately conservative: when the
//! facts needed to prove a way in remains cannot be read, the fix is refused.
//!
//! - `PermitRootLogin no` needs another account that can log in (a login shell and a usable
//!   password or an `authorized_keys` file) and become root through sudo (a member of `sudo`,
//!   `wheel` or `admin`, or named in a sudoers rule that grants ALL).
//! - `PasswordAuthentication no` needs at least one account with a login shell and an
//!   `authorized_keys` file.
//! - Locking accounts or taking their login shell must leave such an administrator.

use crate::catalog::fix::{AccountOp, AccountSelect, Action};
use crate::facts::accounts::{is_nologin_shell, Accounts, PasswordState, User};
use crate::facts::Facts;

const ADMIN_GROUPS: &[&str] = &["sudo", "wheel", "admin"];

fn has_keys(f: &Facts, u: &User) -> bool {
    [".ssh/authorized_keys", ".ssh/authorized_keys2"]
        .iter()
        .any(|k| {
            let p = format!("{}/{k}", u.home.trim_end_matches('/'));
            f.root.stat(&p).is_ok_and(|m| m.size > 0)
        })
}

fn password_usable(acc: &Accounts, u: &User) -> bool {
    let state = match u.passwd_field {
        PasswordState::Shadowed => acc
            .shadow
            .as_ref()
            .and_then(|s| s.iter().find(|e| e.name == u.name))
            .map(|e| e.password),
        other => Some(other),
    };
    matches!(state, Some(PasswordState::Hash(_)))
}

fn can_log_in(f: &Facts, acc: &Accounts, u: &User) -> bool {
    !is_nologin_shell(&u.shell) && (password_usable(acc, u) || has_keys(f, u))
}

fn is_admin(f: &Facts, acc: &Accounts, u: &User) -> bool {
    let groups: Vec<&str> = acc
        .groups
        .iter()
        .filter(|g| g.gid == u.gid || g.members.iter().any(|m| m == &u.name))
        .map(|g| g.name.as_str())
        .collect();
    if groups.iter().any(|g| ADMIN_GROUPS.contains(g)) {
        return true;
    }
    let Ok(Some(s)) = f.sudoers() else {
        return false;
    };
    s.grants().iter().any(|g| {
        !g.command.negated
            && g.expanded.iter().any(|c| c == "ALL")
            && g.users.iter().any(|m| {
                !m.negated && {
                    let who = m.value.to_string();
                    who == u.name || groups.iter().any(|gr| who == format!("%{gr}"))
                }
            })
    })
}

/// Accounts other than root that can log in and administer the host, leaving out `except`.
fn other_admins(f: &Facts, acc: &Accounts, except: &[String]) -> Vec<String> {
    acc.users
        .iter()
        .filter(|u| u.uid != 0 && !except.contains(&u.name))
        .filter(|u| can_log_in(f, acc, u) && is_admin(f, acc, u))
        .map(|u| u.name.clone())
        .collect()
}

/// Why this action must not run here, or `None` when it is safe.
pub fn refusal(a: &Action, f: &Facts) -> Option<String> {
    let guarded = match a {
        Action::Sshd { keyword, value } => {
            value == "no"
                && (keyword.eq_ignore_ascii_case("PermitRootLogin")
                    || keyword.eq_ignore_ascii_case("PasswordAuthentication"))
        }
        Action::Accounts { .. } => true,
        _ => false,
    };
    if !guarded {
        return None;
    }
    let acc = match f.accounts() {
        Ok(a) => a,
        Err(e) => {
            return Some(format!(
                "accounts cannot be read to rule out a lock-out: {e}"
            ))
        }
    };
    match a {
        Action::Sshd { keyword, value }
            if keyword.eq_ignore_ascii_case("PermitRootLogin")
                && value == "no"
                && other_admins(f, &acc, &[]).is_empty() =>
        {
            return Some(
                "PermitRootLogin no would lock out the host: no account other than root can \
                 log in (login shell and a password or authorized_keys) and use sudo"
                    .into(),
            );
        }
        Action::Sshd { keyword, value }
            if keyword.eq_ignore_ascii_case("PasswordAuthentication") && value == "no" =>
        {
            let keyed = acc
                .users
                .iter()
                .any(|u| !is_nologin_shell(&u.shell) && has_keys(f, u));
            if !keyed {
                return Some(
                    "PasswordAuthentication no would lock out the host: no account with a login \
                     shell has an authorized_keys file"
                        .into(),
                );
            }
        }
        Action::Accounts { op, select } => {
            let named: Vec<String> = match select {
                AccountSelect::Users(u) => u.clone(),
                AccountSelect::SystemWithShell => acc
                    .users
                    .iter()
                    .filter(|u| u.uid != 0 && u.uid < acc.uid_min)
                    .map(|u| u.name.clone())
                    .collect(),
            };
            let admins_touched: Vec<&String> = named
                .iter()
                .filter(|n| {
                    acc.users
                        .iter()
                        .any(|u| &u.name == *n && can_log_in(f, &acc, u) && is_admin(f, &acc, u))
                })
                .collect();
            if !admins_touched.is_empty() && other_admins(f, &acc, &named).is_empty() {
                let what = match op {
                    AccountOp::Lock => "locking",
                    AccountOp::Nologin => "taking the login shell of",
                };
                return Some(format!(
                    "{what} {} would leave no administrator who can log in",
                    admins_touched
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        _ => {}
    }
    None
}
