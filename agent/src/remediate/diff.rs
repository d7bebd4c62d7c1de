//! Unified diffs of the files a fix changes, for the person who reviews them. Hand-written
//! instead of the `similar` crate: that crate added 393 KiB to the release binary (measured
//! with `cargo bloat --crates`, 6.4 MiB of .text), for one function that prints small
//! configuration diffs. Myers' O((N+M)·D) algorithm over lines, after trimming the common
//! prefix and suffix; past [`MAX_EDITS`] edits the hunk is shown as a whole replacement.

use std::fmt::Write as _;

/// Beyond this many edit steps the files are shown as removed and re-added in full.
const MAX_EDITS: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Keep,
    Del,
    Add,
}

/// The edit script turning `a` into `b` (Myers' greedy algorithm with a saved trace).
fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    let max = n + m;
    if max == 0 {
        return vec![];
    }
    let off = max as isize;
    let mut v = vec![0usize; 2 * max + 2];
    let mut trace: Vec<Vec<usize>> = Vec::new();
    let mut found = None;
    for d in 0..=max.min(MAX_EDITS) {
        trace.push(v.clone());
        let d = d as isize;
        let mut k = -d;
        while k <= d {
            let i = (k + off) as usize;
            let mut x = if k == -d || (k != d && v[i - 1] < v[i + 1]) {
                v[i + 1]
            } else {
                v[i - 1] + 1
            };
            let mut y = (x as isize - k) as usize;
            while x < n && y < m && a[x] == b[y] {
                x += 1;
                y += 1;
            }
            v[i] = x;
            if x >= n && y >= m {
                found = Some(d as usize);
                break;
            }
            k += 2;
        }
        if found.is_some() {
            break;
        }
    }
    let Some(dmax) = found else {
        // too different: everything out, everything in
        let mut ops = vec![Op::Del; n];
        ops.extend(std::iter::repeat_n(Op::Add, m));
        return ops;
    };
    // walk the trace back from (n, m)
    let mut ops = Vec::with_capacity(max);
    let (mut x, mut y) = (n as isize, m as isize);
    for d in (1..=dmax as isize).rev() {
        let v = &trace[d as usize];
        let k = x - y;
        let i = (k + off) as usize;
        let prev_k = if k == -d || (k != d && v[i - 1] < v[i + 1]) {
            k + 1
        } else {
            k - 1
        };
        let px = v[(prev_k + off) as usize] as isize;
        let py = px - prev_k;
        while x > px && y > py {
            ops.push(Op::Keep);
            x -= 1;
            y -= 1;
        }
        ops.push(if x == px { Op::Add } else { Op::Del });
        x = px;
        y = py;
    }
    while x > 0 && y > 0 {
        ops.push(Op::Keep);
        x -= 1;
        y -= 1;
    }
    ops.reverse();
    ops
}

/// `diff -u` of two texts, with `radius` lines of context; empty when they are equal.
pub fn unified(old: &str, new: &str, from: &str, to: &str, radius: usize) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    // common prefix and suffix need no search
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut ops = vec![Op::Keep; pre];
    ops.extend(script(&a[pre..a.len() - suf], &b[pre..b.len() - suf]));
    ops.extend(std::iter::repeat_n(Op::Keep, suf));
    // line positions of each op in a and b
    let mut pos = Vec::with_capacity(ops.len());
    let (mut i, mut j) = (0usize, 0usize);
    for op in &ops {
        pos.push((i, j));
        match op {
            Op::Keep => {
                i += 1;
                j += 1;
            }
            Op::Del => i += 1,
            Op::Add => j += 1,
        }
    }
    let mut out = format!("--- {from}\n+++ {to}\n");
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k] != Op::Keep).collect();
    let mut h = 0;
    while h < changed.len() {
        // grow a hunk while the next change is within 2 * radius of context
        let start = changed[h].saturating_sub(radius);
        let mut end = changed[h];
        while h + 1 < changed.len() && changed[h + 1] <= end + 2 * radius + 1 {
            h += 1;
            end = changed[h];
        }
        let end = (end + radius + 1).min(ops.len());
        let (a0, b0) = pos[start];
        let (mut alen, mut blen) = (0, 0);
        let mut body = String::new();
        for k in start..end {
            let (ai, bj) = pos[k];
            let (mark, line) = match ops[k] {
                Op::Keep => {
                    alen += 1;
                    blen += 1;
                    (' ', a[ai])
                }
                Op::Del => {
                    alen += 1;
                    ('-', a[ai])
                }
                Op::Add => {
                    blen += 1;
                    ('+', b[bj])
                }
            };
            body.push(mark);
            body.push_str(line);
            if !line.ends_with('\n') {
                body.push_str("\n\\ No newline at end of file\n");
            }
        }
        let at = |start: usize, len: usize| if len == 0 { start } else { start + 1 };
        let _ = writeln!(
            out,
            "@@ -{},{alen} +{},{blen} @@",
            at(a0, alen),
            at(b0, blen)
        );
        out.push_str(&body);
        h += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nC\nd\ne\nf\ng\nh\nI\n";
        assert_eq!(
            unified(old, new, "a/x", "b/x", 1),
            "--- a/x\n+++ b/x\n@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n@@ -8,1 +8,2 @@\n h\n+I\n"
        );
        assert_eq!(unified(old, old, "a", "b", 2), "");
    }

    #[test]
    fn new_and_removed_files() {
        assert_eq!(
            unified("", "x = 1\n", "/dev/null", "b/f", 2),
            "--- /dev/null\n+++ b/f\n@@ -0,0 +1,1 @@\n+x = 1\n"
        );
        assert_eq!(
            unified("x\ny", "x\n", "a/f", "b/f", 2),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,1 @@\n x\n-y\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn script_is_minimal_and_applies() {
        for (a, b) in [
            ("abcabba", "cbabac"),
            ("", "xyz"),
            ("xyz", ""),
            ("same", "same"),
            ("kitten", "sitting"),
        ] {
            let av: Vec<String> = a.chars().map(|c| c.to_string()).collect();
            let bv: Vec<String> = b.chars().map(|c| c.to_string()).collect();
            let ar: Vec<&str> = av.iter().map(String::as_str).collect();
            let br: Vec<&str> = bv.iter().map(String::as_str).collect();
            let ops = script(&ar, &br);
            // replaying the script on a gives b
            let (mut i, mut j, mut out) = (0, 0, Vec::new());
            for op in &ops {
                match op {
                    Op::Keep => {
                        assert_eq!(ar[i], br[j]);
                        out.push(ar[i]);
                        i += 1;
                        j += 1;
                    }
                    Op::Del => i += 1,
                    Op::Add => {
                        out.push(br[j]);
                        j += 1;
                    }
                }
            }
            assert_eq!(out, br, "{a} -> {b}");
        }
        // Myers' example: D = 5
        let a: Vec<&str> = "abcabba".split("").filter(|s| !s.is_empty()).collect();
        let b: Vec<&str> = "cbabac".split("").filter(|s| !s.is_empty()).collect();
        assert_eq!(script(&a, &b).iter().filter(|o| **o != Op::Keep).count(), 5);
    }
}
